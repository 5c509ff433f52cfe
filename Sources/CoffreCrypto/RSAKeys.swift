import COpenSSL
import Crypto
import _CryptoExtras

/// Limits on RSA keys this engine accepts: Key Vault's sizes, and nothing so large that checking it is a burden.
public enum RSALimits {
    /// The sizes of keys it generates (keys and certificate policies are checked against these).
    public static let generatedBits: Set<Int> = [2048, 3072, 4096]
    /// `2048, 3072 or 4096`, for messages.
    public static var generatedBitsText: String {
        let sizes = generatedBits.sorted().map(String.init)
        return sizes.dropLast().joined(separator: ", ") + " or " + (sizes.last ?? "")
    }
    static let importedBits = 2048...4096
    static let defaultPublicExponent = 65537

    /// The modulus size and public exponent of a new key (2048 bits and 65537 unless given), or why they are refused.
    public static func generation(size: Int?, publicExponent: Int?) throws -> (bits: Int, publicExponent: Int) {
        let bits = size ?? 2048
        guard generatedBits.contains(bits) else {
            throw CryptoFailure.unsupported("RSA keys can be \(generatedBitsText) bits, not \(bits)")
        }
        let exponent = publicExponent ?? defaultPublicExponent
        guard exponent >= 3, exponent <= Int(Int32.max), exponent & 1 == 1 else {
            throw CryptoFailure.unsupported("the RSA public exponent must be odd, from 3 to 2147483647")
        }
        return (bits, exponent)
    }
}

/// swift-crypto's RSA encryption keys are not declared `Sendable`, although they are immutable wrappers of BoringSSL keys
/// that are (`BoringSSLRSAPublicKey`, `BoringSSLRSAPrivateKey`); this box states it.
private struct ImmutableKey<Key>: @unchecked Sendable {
    let key: Key
}

/// An RSA public key. swift-crypto encrypts; OpenSSL verifies, because swift-crypto verifies only digests of its own
/// hash types and Key Vault's clients send a digest computed elsewhere.
struct RSAPublicKey: Sendable {
    private let encryptor: ImmutableKey<_RSA.Encryption.PublicKey>
    private let verifier: OpenSSLKey
    /// The modulus and public exponent, big-endian with no leading zero byte (JWK `n`, `e`).
    let modulus: [UInt8]
    let exponent: [UInt8]

    /// A public key from its JWK members.
    init(modulus n: [UInt8], exponent e: [UInt8]) throws {
        let modulus = Array(n.drop { $0 == 0 })
        let exponent = Array(e.drop { $0 == 0 })
        try Self.validate(modulus: modulus, exponent: exponent)
        let encryptor: _RSA.Encryption.PublicKey
        do {
            encryptor = try _RSA.Encryption.PublicKey(n: modulus, e: exponent)
        } catch {
            throw CryptoFailure.invalidKey("JSON Web Key: the RSA public key is not valid")
        }
        let verifier = try OpenSSLKey(subjectPublicKeyInfoDER: Array(encryptor.derRepresentation))
        guard verifier.isConsistent(includingPrivateKey: false) else {
            throw CryptoFailure.invalidKey("JSON Web Key: the RSA public key is not valid")
        }
        self.init(encryptor: encryptor, verifier: verifier, modulus: modulus, exponent: exponent)
    }

    fileprivate init(encryptor: _RSA.Encryption.PublicKey, verifier: OpenSSLKey, modulus: [UInt8], exponent: [UInt8]) {
        self.encryptor = ImmutableKey(key: encryptor)
        self.verifier = verifier
        self.modulus = modulus
        self.exponent = exponent
    }

    /// Size checks done before any library sees the numbers.
    static func validate(modulus: [UInt8], exponent: [UInt8]) throws {
        guard let first = modulus.first, RSALimits.importedBits.contains(modulus.count * 8 - first.leadingZeroBitCount)
        else {
            throw CryptoFailure.invalidKey("JSON Web Key: RSA keys must have 2048 to 4096 bits")
        }
        guard exponent.count <= 4, let last = exponent.last, last & 1 == 1, exponent != [1] else {
            throw CryptoFailure.invalidKey("JSON Web Key: the RSA public exponent must be odd, at least 3 and at most 32 bits")
        }
    }

    var bitCount: Int { encryptor.key.keySizeInBits }
    var byteCount: Int { modulus.count }

    var subjectPublicKeyInfoDER: [UInt8] { Array(encryptor.key.derRepresentation) }

    func verify(_ scheme: SignatureScheme, digest: [UInt8], signature: [UInt8]) -> Bool {
        guard signature.count == byteCount else { return false }
        return verifier.verify(signature, for: digest) { RSAPadding.configure($0, for: scheme) }
    }

    func encrypt(_ padding: CipherScheme.RSAPadding, algorithm: String, plaintext: [UInt8]) throws -> [UInt8] {
        let limit = encryptor.key.maximumEncryptSize(with: padding.swiftCrypto)
        guard plaintext.count <= limit else {
            throw CryptoFailure.invalidInput("\(algorithm) can encrypt at most \(limit) bytes with this key, got \(plaintext.count)")
        }
        do {
            return Array(try encryptor.key.encrypt(plaintext, padding: padding.swiftCrypto))
        } catch {
            throw CryptoFailure.internal("RSA encryption failed")
        }
    }
}

/// An RSA private key, parsed once. OpenSSL signs (see ``RSAPublicKey``) and decrypts: its private-key operation
/// is the faster one (AVX-512 IFMA where the CPU has it).
struct RSAPrivateKey: Sendable {
    private let signer: OpenSSLKey
    private let components: PrivateComponents
    let publicKey: RSAPublicKey
    /// Kept from parsing or generation, so that the stored form needs no encoding that could fail.
    let pkcs8DER: [UInt8]

    /// The private members of the JWK, read once from the parsed key.
    private struct PrivateComponents: Sendable {
        var d, p, q, dp, dq, qi: [UInt8]
    }

    static func generate(bits: Int, publicExponent: Int) throws -> RSAPrivateKey {
        if publicExponent == RSALimits.defaultPublicExponent {
            let key = try _RSA.Signing.PrivateKey(keySize: .init(bitCount: bits))
            return try RSAPrivateKey(trustedPKCS8: Array(key.pkcs8DERRepresentation))
        }
        // swift-crypto always generates with e = 65537.
        let key = try OpenSSLKey.generateRSA(bits: bits, publicExponent: publicExponent)
        return try RSAPrivateKey(signer: key, pkcs8DER: key.pkcs8DER)
    }

    /// A key this engine wrote (generated, or read back from storage): not checked again.
    init(trustedPKCS8 der: [UInt8]) throws {
        let signer = try OpenSSLKey(pkcs8DER: der)
        guard signer.isA("RSA") else { throw CryptoFailure.invalidKey("the stored key is not an RSA key") }
        try self.init(signer: signer, pkcs8DER: der)
    }

    /// A key from outside (PKCS#8 import): size limits and OpenSSL's full key check.
    init(importing key: OpenSSLKey) throws {
        try RSAPublicKey.validate(
            modulus: try key.bigEndian(OSSL_PKEY_PARAM_RSA_N), exponent: try key.bigEndian(OSSL_PKEY_PARAM_RSA_E))
        guard key.isConsistent(includingPrivateKey: true) else {
            throw CryptoFailure.invalidKey("the RSA private key is not consistent")
        }
        try self.init(signer: key, pkcs8DER: key.pkcs8DER)
    }

    /// A key from its JWK members. `p` and `q` are required: recovering them from `n`, `e` and `d` alone costs a
    /// factorisation, which a hostile key can make loop. `dp`, `dq` and `qi` are optional and must match when given.
    init(importing jwk: JsonWebKey) throws {
        guard let n = jwk.n, let e = jwk.e else {
            throw CryptoFailure.invalidKey("JSON Web Key: an RSA key needs n and e")
        }
        guard let d = jwk.d, !d.isEmpty else {
            throw CryptoFailure.invalidKey("JSON Web Key: an RSA key to import needs its private exponent d")
        }
        guard let p = jwk.p, let q = jwk.q, !p.isEmpty, !q.isEmpty else {
            throw CryptoFailure.invalidKey("JSON Web Key: an RSA key to import needs its primes p and q")
        }
        let modulus = Array(n.drop { $0 == 0 })
        try RSAPublicKey.validate(modulus: modulus, exponent: Array(e.drop { $0 == 0 }))
        // Each of d, p and q above 1 and no longer than n: the arithmetic below never sees a zero or one.
        guard
            [d, p, q].allSatisfy({ value in
                let significant = Array(value.drop { $0 == 0 })
                return !significant.isEmpty && significant != [1] && significant.count <= modulus.count
            })
        else {
            throw CryptoFailure.invalidKey("JSON Web Key: the RSA private key is not consistent")
        }
        let built: _RSA.Signing.PrivateKey
        do {
            built = try _RSA.Signing.PrivateKey(n: n, e: e, d: d, p: p, q: q)
        } catch {
            throw CryptoFailure.invalidKey("JSON Web Key: the RSA private key is not consistent")
        }
        let signer = try OpenSSLKey(pkcs8DER: Array(built.pkcs8DERRepresentation))
        guard signer.isConsistent(includingPrivateKey: true) else {
            throw CryptoFailure.invalidKey("JSON Web Key: the RSA private key is not consistent")
        }
        try self.init(signer: signer, pkcs8DER: signer.pkcs8DER)
        let given = [jwk.dp, jwk.dq, jwk.qi]
        let computed = [components.dp, components.dq, components.qi]
        for (value, expected) in zip(given, computed) {
            if let value, !ConstantTime.equals(value.drop { $0 == 0 }, expected) {
                throw CryptoFailure.invalidKey("JSON Web Key: dp, dq or qi does not match the RSA private key")
            }
        }
    }

    private init(signer: OpenSSLKey, pkcs8DER: [UInt8]) throws {
        // swift-crypto's parse checks what Key Vault's RSA keys must be, and yields the public key that encrypts.
        let decryptor: _RSA.Encryption.PrivateKey
        do {
            decryptor = try _RSA.Encryption.PrivateKey(derRepresentation: pkcs8DER)
        } catch {
            throw CryptoFailure.invalidKey("the RSA private key cannot be used: it needs 2048 to 4096 bits and two primes")
        }
        let encryptor = decryptor.publicKey
        let primitives = try encryptor.getKeyPrimitives()
        self.signer = signer
        self.pkcs8DER = pkcs8DER
        self.publicKey = RSAPublicKey(
            encryptor: encryptor, verifier: signer,
            modulus: Array(primitives.modulus.drop { $0 == 0 }), exponent: Array(primitives.publicExponent.drop { $0 == 0 }))
        self.components = PrivateComponents(
            d: try signer.bigEndian(OSSL_PKEY_PARAM_RSA_D),
            p: try signer.bigEndian(RSAParameterName.factor1),
            q: try signer.bigEndian(RSAParameterName.factor2),
            dp: try signer.bigEndian(RSAParameterName.exponent1),
            dq: try signer.bigEndian(RSAParameterName.exponent2),
            qi: try signer.bigEndian(RSAParameterName.coefficient1))
    }

    func privateJWK() -> JsonWebKey {
        JsonWebKey(
            n: publicKey.modulus, e: publicKey.exponent, d: components.d, dp: components.dp, dq: components.dq,
            qi: components.qi, p: components.p, q: components.q)
    }

    func sign(_ scheme: SignatureScheme, digest: [UInt8]) throws -> [UInt8] {
        try signer.sign(digest) { RSAPadding.configure($0, for: scheme) }
    }

    /// Any failure, whatever its cause, is the same `authenticationFailed`: no padding oracle in the answer.
    func decrypt(_ padding: CipherScheme.RSAPadding, algorithm: String, ciphertext: [UInt8]) throws -> [UInt8] {
        guard ciphertext.count == publicKey.byteCount else {
            throw CryptoFailure.invalidInput(
                "\(algorithm) needs a \(publicKey.byteCount)-byte ciphertext with this key, got \(ciphertext.count)")
        }
        guard let plaintext = signer.decrypt(ciphertext, configure: { padding.configure($0) }) else {
            throw CryptoFailure.authenticationFailed
        }
        return plaintext
    }
}

extension CipherScheme.RSAPadding {
    var swiftCrypto: _RSA.Encryption.Padding {
        switch self {
        case .pkcs1v15: ._WEAK_AND_INSECURE_PKCS_V1_5
        case .oaepSHA1: .PKCS1_OAEP
        case .oaepSHA256: .PKCS1_OAEP_SHA256
        }
    }

    /// The same padding on an OpenSSL decryption context (OAEP's MGF1 uses the OAEP digest, as swift-crypto's does).
    func configure(_ context: OpaquePointer) -> Bool {
        switch self {
        case .pkcs1v15:
            return EVP_PKEY_CTX_set_rsa_padding(context, RSA_PKCS1_PADDING) == 1
        case .oaepSHA1, .oaepSHA256:
            let digest = (self == .oaepSHA1 ? HashKind.sha1 : .sha256).openSSL
            return EVP_PKEY_CTX_set_rsa_padding(context, RSA_PKCS1_OAEP_PADDING) == 1
                && EVP_PKEY_CTX_set_rsa_oaep_md(context, digest) == 1 && EVP_PKEY_CTX_set_rsa_mgf1_md(context, digest) == 1
        }
    }
}

/// OpenSSL's names of the CRT parameters, which its headers build by string concatenation (not imported into Swift).
private enum RSAParameterName {
    static let factor1 = "rsa-factor1"
    static let factor2 = "rsa-factor2"
    static let exponent1 = "rsa-exponent1"
    static let exponent2 = "rsa-exponent2"
    static let coefficient1 = "rsa-coefficient1"
}

/// OpenSSL settings of an RSA signature context.
private enum RSAPadding {
    static func configure(_ context: OpaquePointer, for scheme: SignatureScheme) -> Bool {
        switch scheme {
        case .rsaPKCS1(let hash):
            EVP_PKEY_CTX_set_rsa_padding(context, RSA_PKCS1_PADDING) == 1
                && EVP_PKEY_CTX_set_signature_md(context, hash.openSSL) == 1
        case .rsaPSS(let hash):
            EVP_PKEY_CTX_set_rsa_padding(context, RSA_PKCS1_PSS_PADDING) == 1
                && EVP_PKEY_CTX_set_signature_md(context, hash.openSSL) == 1
                && EVP_PKEY_CTX_set_rsa_mgf1_md(context, hash.openSSL) == 1
                && EVP_PKEY_CTX_set_rsa_pss_saltlen(context, RSA_PSS_SALTLEN_DIGEST) == 1
        case .rsaNull:
            // No digest set: OpenSSL pads the input as it is, with no DigestInfo.
            EVP_PKEY_CTX_set_rsa_padding(context, RSA_PKCS1_PADDING) == 1
        case .ecdsa, .hmac:
            false
        }
    }
}

extension HashKind {
    var openSSL: OpaquePointer? {
        switch self {
        case .sha1: EVP_sha1()
        case .sha256: EVP_sha256()
        case .sha384: EVP_sha384()
        case .sha512: EVP_sha512()
        }
    }
}
