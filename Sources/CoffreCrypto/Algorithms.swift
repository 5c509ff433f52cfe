/// The hash functions the JWA names refer to.
public enum HashKind: Sendable {
    case sha1, sha256, sha384, sha512

    public var byteCount: Int {
        switch self {
        case .sha1: 20
        case .sha256: 32
        case .sha384: 48
        case .sha512: 64
        }
    }
}

/// A `JsonWebKeySignatureAlgorithm`, parsed.
public enum SignatureScheme: Sendable, Equatable {
    /// RSASSA-PKCS1-v1_5 over a DigestInfo (`RS256`, `RS384`, `RS512`).
    case rsaPKCS1(HashKind)
    /// RSASSA-PSS with MGF1 of the same hash and a salt as long as the hash (`PS256`, `PS384`, `PS512`).
    case rsaPSS(HashKind)
    /// PKCS#1 v1.5 signature padding of the raw bytes given, with no DigestInfo (`RSNULL`).
    case rsaNull
    /// ECDSA with a raw R‖S signature (`ES256`, `ES256K`, `ES384`, `ES512`).
    case ecdsa(CurveName)
    /// HMAC over the bytes given (`HS256`, `HS384`, `HS512`), for symmetric keys.
    case hmac(HashKind)

    private static let table: [String: SignatureScheme] = [
        "RS256": .rsaPKCS1(.sha256), "RS384": .rsaPKCS1(.sha384), "RS512": .rsaPKCS1(.sha512),
        "PS256": .rsaPSS(.sha256), "PS384": .rsaPSS(.sha384), "PS512": .rsaPSS(.sha512),
        "RSNULL": .rsaNull,
        "ES256": .ecdsa(.p256), "ES256K": .ecdsa(.p256k), "ES384": .ecdsa(.p384), "ES512": .ecdsa(.p521),
        "HS256": .hmac(.sha256), "HS384": .hmac(.sha384), "HS512": .hmac(.sha512),
    ]

    public init(_ name: String) throws {
        guard let scheme = Self.table[name] else { throw CryptoFailure.unsupported(unknownAlgorithm(name)) }
        self = scheme
    }

    public var family: KeyType.Family {
        switch self {
        case .rsaPKCS1, .rsaPSS, .rsaNull: .rsa
        case .ecdsa: .ec
        case .hmac: .oct
        }
    }

    /// The digest length the algorithm demands; `nil` when other lengths are signed (RSNULL: 1 byte up to the modulus
    /// length minus 11; HMAC: any).
    public var digestByteCount: Int? {
        switch self {
        case .rsaPKCS1(let hash), .rsaPSS(let hash): hash.byteCount
        case .ecdsa(let curve): curve.digestByteCount
        case .rsaNull, .hmac: nil
        }
    }
}

extension SignatureScheme {
    /// Checks that the algorithm suits the key (family, curve) and that the digest suits the algorithm.
    /// - Parameter rsaByteCount: the modulus length of an RSA key, which bounds what RSNULL can sign.
    public func check(_ name: String, keyType: KeyType, curve: CurveName?, rsaByteCount: Int?, digest: [UInt8]) throws {
        guard family == keyType.family else { throw CryptoFailure.unsupported(mismatch(name, keyType)) }
        if case .ecdsa(let needed) = self, let curve, needed != curve {
            throw CryptoFailure.unsupported("\(name) cannot be used with a \(curve.rawValue) key")
        }
        if let expected = digestByteCount, digest.count != expected {
            throw CryptoFailure.invalidInput("\(name) needs a \(expected)-byte digest, got \(digest.count)")
        }
        if self == .rsaNull, digest.isEmpty {
            throw CryptoFailure.invalidInput("\(name) needs at least one byte to sign")
        }
        if self == .rsaNull, let rsaByteCount, digest.count > rsaByteCount - 11 {
            throw CryptoFailure.invalidInput(
                "\(name) can sign at most \(rsaByteCount - 11) bytes with this key, got \(digest.count)")
        }
    }
}

/// A `JsonWebKeyEncryptionAlgorithm`, parsed: the algorithms of encrypt/decrypt and wrapKey/unwrapKey.
public enum CipherScheme: Sendable, Equatable {
    public enum RSAPadding: Sendable, Equatable {
        /// `RSA1_5`: PKCS#1 v1.5 encryption padding, weak and insecure, kept for compatibility.
        case pkcs1v15
        /// `RSA-OAEP`: OAEP with SHA-1 and MGF1-SHA-1.
        case oaepSHA1
        /// `RSA-OAEP-256`: OAEP with SHA-256 and MGF1-SHA-256.
        case oaepSHA256
    }

    case rsa(RSAPadding)
    /// `A128GCM`, `A192GCM`, `A256GCM`: the key must have this many bytes.
    case aesGCM(keyBytes: Int)
    /// `A128CBC`… (no padding) and `A128CBCPAD`… (PKCS#7).
    case aesCBC(keyBytes: Int, padded: Bool)
    /// RFC 3394 key wrap: `A128KW`… bind the key size; `CKM_AES_KEY_WRAP` (`keyBytes` nil) takes any AES key.
    case aesKeyWrap(keyBytes: Int?)
    /// `CKM_AES_KEY_WRAP_PAD`: RFC 5649 key wrap with padding, any AES key.
    case aesKeyWrapPad

    private static let table: [String: CipherScheme] = [
        "RSA1_5": .rsa(.pkcs1v15), "RSA-OAEP": .rsa(.oaepSHA1), "RSA-OAEP-256": .rsa(.oaepSHA256),
        "A128GCM": .aesGCM(keyBytes: 16), "A192GCM": .aesGCM(keyBytes: 24), "A256GCM": .aesGCM(keyBytes: 32),
        "A128CBC": .aesCBC(keyBytes: 16, padded: false), "A192CBC": .aesCBC(keyBytes: 24, padded: false),
        "A256CBC": .aesCBC(keyBytes: 32, padded: false),
        "A128CBCPAD": .aesCBC(keyBytes: 16, padded: true), "A192CBCPAD": .aesCBC(keyBytes: 24, padded: true),
        "A256CBCPAD": .aesCBC(keyBytes: 32, padded: true),
        "A128KW": .aesKeyWrap(keyBytes: 16), "A192KW": .aesKeyWrap(keyBytes: 24), "A256KW": .aesKeyWrap(keyBytes: 32),
        "CKM_AES_KEY_WRAP": .aesKeyWrap(keyBytes: nil), "CKM_AES_KEY_WRAP_PAD": .aesKeyWrapPad,
    ]

    public init(_ name: String) throws {
        guard let scheme = Self.table[name] else { throw CryptoFailure.unsupported(unknownAlgorithm(name)) }
        self = scheme
    }

    public var family: KeyType.Family {
        if case .rsa = self { return .rsa }
        return .oct
    }

    /// Whether the algorithm belongs to encrypt/decrypt (true) or to wrapKey/unwrapKey (false) for symmetric keys.
    /// RSA algorithms serve both.
    public var isKeyWrap: Bool {
        switch self {
        case .aesKeyWrap, .aesKeyWrapPad: true
        case .rsa, .aesGCM, .aesCBC: false
        }
    }
}

extension CipherScheme {
    /// Checks that the algorithm suits the key's family and the operation (encrypt/decrypt or wrap/unwrap).
    public func check(_ name: String, keyType: KeyType, wrapping: Bool) throws {
        guard family == keyType.family else { throw CryptoFailure.unsupported(mismatch(name, keyType)) }
        if family == .oct, isKeyWrap != wrapping {
            throw CryptoFailure.unsupported(
                wrapping ? "\(name) cannot wrap or unwrap keys" : "\(name) can only wrap and unwrap keys")
        }
    }
}

/// "RS256 cannot be used with an EC key" (every `kty` takes "an").
private func mismatch(_ name: String, _ keyType: KeyType) -> String {
    "\(name) cannot be used with an \(keyType.rawValue) key"
}

/// The message for a name that is no algorithm at all; printable and short, since the name comes from the caller.
private func unknownAlgorithm(_ name: String) -> String {
    let printable = name.unicodeScalars.allSatisfy { $0.isASCII && $0.value >= 0x20 && $0.value < 0x7f }
    return printable && name.count <= 32 ? "'\(name)' is not a supported algorithm" : "the algorithm is not supported"
}

/// What a kind of key can do: the operations (Key Vault `key_ops`) and the algorithms of each.
public struct SupportedAlgorithms: Sendable, Equatable {
    /// `key_ops` values the key can perform, in Key Vault's order.
    public var operations: [String]
    /// For `sign` and `verify`.
    public var signing: [String]
    /// For `encrypt` and `decrypt`.
    public var encryption: [String]
    /// For `wrapKey` and `unwrapKey`.
    public var keyWrapping: [String]

    public init(operations: [String], signing: [String], encryption: [String], keyWrapping: [String]) {
        self.operations = operations
        self.signing = signing
        self.encryption = encryption
        self.keyWrapping = keyWrapping
    }
}

extension KeyMaterial {
    private static let rsaEncryption = ["RSA-OAEP", "RSA-OAEP-256", "RSA1_5"]

    /// The operations and algorithms a key of this type, curve and size (bits, for `oct` keys) supports.
    /// For `oct` keys without a size, the algorithms of every size are listed.
    public static func algorithms(for type: KeyType, curve: CurveName?, size: Int? = nil) -> SupportedAlgorithms {
        switch type.family {
        case .rsa:
            return SupportedAlgorithms(
                operations: ["encrypt", "decrypt", "sign", "verify", "wrapKey", "unwrapKey"],
                signing: ["PS256", "PS384", "PS512", "RS256", "RS384", "RS512", "RSNULL"],
                encryption: rsaEncryption, keyWrapping: rsaEncryption)
        case .ec:
            return SupportedAlgorithms(
                operations: ["sign", "verify"], signing: curve.map { [$0.signatureAlgorithm] } ?? [],
                encryption: [], keyWrapping: [])
        case .oct:
            let sizes = size.map { [$0] } ?? [128, 192, 256]
            return SupportedAlgorithms(
                operations: ["encrypt", "decrypt", "sign", "verify", "wrapKey", "unwrapKey"],
                signing: ["HS256", "HS384", "HS512"],
                encryption: sizes.flatMap { ["A\($0)GCM", "A\($0)CBC", "A\($0)CBCPAD"] },
                keyWrapping: sizes.map { "A\($0)KW" } + ["CKM_AES_KEY_WRAP", "CKM_AES_KEY_WRAP_PAD"])
        }
    }

    /// The operations and algorithms of this key.
    public var supportedAlgorithms: SupportedAlgorithms {
        Self.algorithms(for: keyType, curve: curve, size: keyType.family == .oct ? sizeInBits : nil)
    }
}
