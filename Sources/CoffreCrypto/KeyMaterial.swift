/// Private key material of a vault key: RSA, EC or symmetric (`oct`).
///
/// Parsed once, when created, imported or read back from storage; every operation then uses the parsed keys. A value
/// type over immutable references, so it is cheap to copy and to cache, and safe to share between tasks.
///
/// The private parts never leave it except through ``privateJWK()``, ``pkcs8DER`` and ``storedRepresentation``,
/// which exist for key release, export and the server's sealed storage. `description` and `dump` show no material.
public struct KeyMaterial: Sendable {
    enum Backing: Sendable {
        case rsa(RSAPrivateKey)
        case ec(ECPrivateKey)
        case oct(OctKey)
    }

    /// The type the key was created or imported with (the `-HSM` distinction is kept).
    public let keyType: KeyType
    let backing: Backing

    init(_ keyType: KeyType, _ backing: Backing) {
        self.keyType = keyType
        self.backing = backing
    }

    // MARK: - Creation

    /// Generates a key.
    /// - Parameters:
    ///   - size: bits: RSA 2048 (default), 3072 or 4096; oct 128, 192 or 256 (default). For EC without a curve,
    ///     256, 384 or 521 choose P-256, P-384 or P-521.
    ///   - curve: EC only; P-256 by default.
    ///   - publicExponent: RSA only; 65537 by default, otherwise an odd number from 3 to 2³¹ − 1.
    public static func generate(
        _ type: KeyType, size: Int? = nil, curve: CurveName? = nil, publicExponent: Int? = nil
    ) throws -> KeyMaterial {
        switch type.family {
        case .rsa:
            let (bits, exponent) = try RSALimits.generation(size: size, publicExponent: publicExponent)
            return KeyMaterial(type, .rsa(try RSAPrivateKey.generate(bits: bits, publicExponent: exponent)))
        case .ec:
            return KeyMaterial(type, .ec(try ECPrivateKey.generate(try CurveName.chosen(curve: curve, size: size))))
        case .oct:
            return KeyMaterial(type, .oct(try OctKey.generate(bits: size ?? 256)))
        }
    }

    /// Imports a JWK with its private members. Malformed or inconsistent keys throw `invalidKey`: an RSA key whose
    /// parts do not agree, an EC key whose d·G is not (x, y), an oct key whose `k` is not 16, 24 or 32 bytes.
    /// RSA keys need `p` and `q` besides `n`, `e` and `d`. BYOK blobs (`key_hsm`) are not supported.
    public init(importing jwk: JsonWebKey) throws {
        let type = try jwk.requireKeyType()
        guard jwk.t == nil else {
            throw CryptoFailure.unsupported("JSON Web Key: importing a protected key (key_hsm, BYOK) is not supported")
        }
        switch type.family {
        case .rsa:
            self.init(type, .rsa(try RSAPrivateKey(importing: jwk)))
        case .ec:
            guard let crv = jwk.crv else { throw CryptoFailure.invalidKey("JSON Web Key: an EC key needs crv") }
            guard let curve = CurveName(rawValue: crv) else {
                throw CryptoFailure.invalidKey("JSON Web Key: the curve is not supported")
            }
            self.init(type, .ec(try ECPrivateKey(importing: jwk, curve: curve)))
        case .oct:
            guard let k = jwk.k, !k.isEmpty else { throw CryptoFailure.invalidKey("JSON Web Key: an oct key needs k") }
            guard k.count <= OctKey.largestImportedByteCount else {
                throw CryptoFailure.invalidKey(
                    "JSON Web Key: k property of oct key is too large, maximum size is \(OctKey.largestImportedByteCount)")
            }
            guard OctKey.byteCounts.contains(k.count) else {
                throw CryptoFailure.invalidKey("JSON Web Key: k of an oct key must be 16, 24 or 32 bytes")
            }
            self.init(type, .oct(try OctKey(bytes: k)))
        }
    }

    /// Imports an unencrypted PKCS#8 private key (RSA, or EC on P-256, P-256K, P-384, P-521), as found in PKCS#12
    /// and PEM files. The key is checked as a JWK import is. Its type is `RSA` or `EC`; see ``withKeyType(_:)``.
    public init(pkcs8DER: [UInt8]) throws {
        let key = try OpenSSLKey(pkcs8DER: pkcs8DER)
        if key.isA("RSA") {
            self.init(.rsa, .rsa(try RSAPrivateKey(importing: key)))
        } else if key.isA("EC") {
            guard let group = key.groupName, let curve = CurveName(openSSLGroup: group) else {
                throw CryptoFailure.invalidKey("the curve of the EC private key is not supported")
            }
            self.init(.ec, .ec(try ECPrivateKey(importing: key, curve: curve)))
        } else {
            throw CryptoFailure.invalidKey("only RSA and EC private keys can be imported")
        }
    }

    /// The same key under another type of its family (`RSA` ↔ `RSA-HSM`…), e.g. for an import with `Hsm: true`.
    public func withKeyType(_ type: KeyType) throws -> KeyMaterial {
        guard type.family == keyType.family else {
            throw CryptoFailure.unsupported("an \(keyType.rawValue) key cannot become an \(type.rawValue) key")
        }
        return KeyMaterial(type, backing)
    }

    // MARK: - Properties

    /// The RSA modulus size or the oct key size, in bits; `nil` for EC keys (see ``curve``).
    public var sizeInBits: Int? {
        switch backing {
        case .rsa(let key): key.publicKey.bitCount
        case .ec: nil
        case .oct(let key): key.byteCount * 8
        }
    }

    public var curve: CurveName? {
        if case .ec(let key) = backing { return key.curve }
        return nil
    }

    /// The public half of an RSA or EC key; `nil` for oct keys, which have none.
    public var publicKey: PublicKeyMaterial? {
        switch backing {
        case .rsa(let key): PublicKeyMaterial(keyType, .rsa(key.publicKey))
        case .ec(let key): PublicKeyMaterial(keyType, .ec(key.publicKey))
        case .oct: nil
        }
    }

    // MARK: - Export

    /// The public JWK: `n` and `e` for RSA; `crv`, `x` and `y` for EC; only `kty` for oct keys. Never a private member.
    public func publicJWK() -> JsonWebKey {
        publicKey?.jwk ?? JsonWebKey(kty: keyType)
    }

    /// The whole key, private members included, for key release and export.
    public func privateJWK() -> JsonWebKey {
        switch backing {
        case .rsa(let key):
            var jwk = key.privateJWK()
            jwk.kty = keyType.rawValue
            return jwk
        case .ec(let key):
            return JsonWebKey(
                kty: keyType, d: key.scalar, crv: key.curve, x: key.publicKey.x, y: key.publicKey.y)
        case .oct(let key):
            return JsonWebKey(kty: keyType, k: key.bytes)
        }
    }

    /// The private key as unencrypted PKCS#8 DER; RSA and EC keys only.
    public var pkcs8DER: [UInt8] {
        get throws {
            switch backing {
            case .rsa(let key): key.pkcs8DER
            case .ec(let key): key.pkcs8DER
            case .oct: throw CryptoFailure.unsupported("oct keys have no PKCS#8 form")
            }
        }
    }

    /// The public key as DER `SubjectPublicKeyInfo`; RSA and EC keys only.
    public var subjectPublicKeyInfoDER: [UInt8] {
        get throws {
            guard let publicKey else { throw CryptoFailure.unsupported("oct keys have no public key") }
            return try publicKey.subjectPublicKeyInfoDER
        }
    }

    // MARK: - Sign and verify

    /// Signs a digest the caller computed (RS*, PS*, ES*: exactly the hash length; RSNULL: 1 byte up to the modulus length
    /// minus 11; HS*: any length). ECDSA signatures are R‖S, as wide as the curve requires.
    public func sign(_ algorithm: String, digest: [UInt8]) throws -> [UInt8] {
        let scheme = try SignatureScheme(algorithm)
        switch backing {
        case .rsa(let key):
            try scheme.check(algorithm, keyType: keyType, curve: nil, rsaByteCount: key.publicKey.byteCount, digest: digest)
            return try key.sign(scheme, digest: digest)
        case .ec(let key):
            try scheme.check(algorithm, keyType: keyType, curve: key.curve, rsaByteCount: nil, digest: digest)
            return try key.sign(digest: digest)
        case .oct(let key):
            try scheme.check(algorithm, keyType: keyType, curve: nil, rsaByteCount: nil, digest: digest)
            guard case .hmac(let hash) = scheme else { throw CryptoFailure.unsupported("\(algorithm) needs an HMAC key") }
            return key.sign(hash, data: digest)
        }
    }

    /// `false` for a signature that does not verify, whatever is wrong with it; throws only when the algorithm does
    /// not suit the key or the digest does not suit the algorithm.
    public func verify(_ algorithm: String, digest: [UInt8], signature: [UInt8]) throws -> Bool {
        if let publicKey { return try publicKey.verify(algorithm, digest: digest, signature: signature) }
        guard case .oct(let key) = backing else { return false }
        let scheme = try SignatureScheme(algorithm)
        try scheme.check(algorithm, keyType: keyType, curve: nil, rsaByteCount: nil, digest: digest)
        guard case .hmac(let hash) = scheme else { return false }
        return key.verify(hash, data: digest, signature: signature)
    }

    // MARK: - Encrypt and decrypt

    /// RSA keys: RSA1_5, RSA-OAEP, RSA-OAEP-256 (`iv` and `additionalData` unused). oct keys: A*GCM (a 12-byte IV is
    /// generated when none is given; the 16-byte tag is returned), A*CBC (plaintext a multiple of 16 bytes) and
    /// A*CBCPAD (PKCS#7), with a 16-byte IV generated when none is given.
    public func encrypt(
        _ algorithm: String, plaintext: [UInt8], iv: [UInt8]?, additionalData: [UInt8]?
    ) throws -> EncryptionResult {
        switch try cipherKey(for: algorithm, wrapping: false) {
        case .rsa(let key, let padding):
            EncryptionResult(ciphertext: try key.publicKey.encrypt(padding, algorithm: algorithm, plaintext: plaintext))
        case .oct(let key, let scheme):
            try key.encrypt(scheme, algorithm: algorithm, plaintext: plaintext, iv: iv, additionalData: additionalData)
        }
    }

    /// Every failure to decrypt a well-formed input (padding, tag, wrong key) is the same `authenticationFailed`.
    public func decrypt(
        _ algorithm: String, ciphertext: [UInt8], iv: [UInt8]?, additionalData: [UInt8]?, authenticationTag: [UInt8]?
    ) throws -> [UInt8] {
        switch try cipherKey(for: algorithm, wrapping: false) {
        case .rsa(let key, let padding):
            try key.decrypt(padding, algorithm: algorithm, ciphertext: ciphertext)
        case .oct(let key, let scheme):
            try key.decrypt(
                scheme, algorithm: algorithm, ciphertext: ciphertext, iv: iv, additionalData: additionalData,
                authenticationTag: authenticationTag)
        }
    }

    // MARK: - Wrap and unwrap

    /// RSA keys: as ``encrypt(_:plaintext:iv:additionalData:)``. oct keys: A*KW and CKM_AES_KEY_WRAP (RFC 3394),
    /// CKM_AES_KEY_WRAP_PAD (RFC 5649).
    public func wrapKey(_ algorithm: String, key keyToWrap: [UInt8]) throws -> [UInt8] {
        switch try cipherKey(for: algorithm, wrapping: true) {
        case .rsa(let key, let padding): try key.publicKey.encrypt(padding, algorithm: algorithm, plaintext: keyToWrap)
        case .oct(let key, let scheme): try key.wrap(scheme, algorithm: algorithm, key: keyToWrap)
        }
    }

    /// Every failure of an integrity check or padding is the same `authenticationFailed`.
    public func unwrapKey(_ algorithm: String, wrappedKey: [UInt8]) throws -> [UInt8] {
        switch try cipherKey(for: algorithm, wrapping: true) {
        case .rsa(let key, let padding): try key.decrypt(padding, algorithm: algorithm, ciphertext: wrappedKey)
        case .oct(let key, let scheme): try key.unwrap(scheme, algorithm: algorithm, wrappedKey: wrappedKey)
        }
    }

    /// The key and algorithm of an encrypt, decrypt, wrap or unwrap, once the algorithm is known to suit the key.
    private enum CipherKey {
        case rsa(RSAPrivateKey, CipherScheme.RSAPadding)
        case oct(OctKey, CipherScheme)
    }

    private func cipherKey(for algorithm: String, wrapping: Bool) throws -> CipherKey {
        let scheme = try CipherScheme(algorithm)
        try scheme.check(algorithm, keyType: keyType, wrapping: wrapping)
        switch (backing, scheme) {
        case (.rsa(let key), .rsa(let padding)): return .rsa(key, padding)
        case (.oct(let key), _): return .oct(key, scheme)
        default: throw CryptoFailure.unsupported("\(algorithm) cannot be used with an \(keyType.rawValue) key")
        }
    }
}

extension KeyMaterial: CustomStringConvertible, CustomDebugStringConvertible, CustomReflectable {
    public var description: String {
        let shape = curve?.rawValue ?? sizeInBits.map { "\($0) bits" } ?? ""
        return "KeyMaterial(\(keyType.rawValue), \(shape))"
    }

    public var debugDescription: String { description }

    /// No children: debuggers and `dump` must not walk into the key.
    public var customMirror: Mirror { Mirror(self, children: [:], displayStyle: .struct) }
}
