import Crypto
import Foundation
import _CryptoExtras

/// The result of an encryption: the ciphertext, the IV used (generated when the caller gave none) and, for AES-GCM,
/// the authentication tag.
public struct EncryptionResult: Sendable, Equatable {
    public var ciphertext: [UInt8]
    public var iv: [UInt8]?
    public var authenticationTag: [UInt8]?

    public init(ciphertext: [UInt8], iv: [UInt8]? = nil, authenticationTag: [UInt8]? = nil) {
        self.ciphertext = ciphertext
        self.iv = iv
        self.authenticationTag = authenticationTag
    }
}

/// An AES/HMAC key (`oct`, `oct-HSM`).
struct OctKey: Sendable {
    static let byteCounts: Set<Int> = [16, 24, 32]
    /// Key Vault refuses larger `k` with its own message.
    static let largestImportedByteCount = 64

    private let key: SymmetricKey
    let byteCount: Int

    init(bytes: [UInt8]) throws {
        guard Self.byteCounts.contains(bytes.count) else {
            throw CryptoFailure.invalidKey("an oct key must be 16, 24 or 32 bytes")
        }
        self.init(key: SymmetricKey(data: bytes))
    }

    private init(key: SymmetricKey) {
        self.key = key
        self.byteCount = key.bitCount / 8
    }

    static func generate(bits: Int) throws -> OctKey {
        OctKey(key: SymmetricKey(size: SymmetricKeySize(bitCount: try KeyMaterial.octGenerationBits(bits))))
    }

    var bytes: [UInt8] { key.withUnsafeBytes { Array($0) } }

    // MARK: - Encrypt and decrypt

    func encrypt(
        _ scheme: CipherScheme, algorithm: String, plaintext: [UInt8], iv: [UInt8]?, additionalData: [UInt8]?
    ) throws -> EncryptionResult {
        let iv = try scheme.checkedEncryption(
            algorithm, keyByteCount: byteCount, plaintext: plaintext, iv: iv, additionalData: additionalData)
        if case .aesCBC(_, let padded) = scheme {
            let ciphertext = try AES._CBC.encrypt(plaintext, using: key, iv: AES._CBC.IV(ivBytes: iv), noPadding: !padded)
            return EncryptionResult(ciphertext: Array(ciphertext), iv: iv)
        }
        let box = try AES.GCM.seal(plaintext, using: key, nonce: try AES.GCM.Nonce(data: iv), authenticating: additionalData ?? [])
        return EncryptionResult(ciphertext: Array(box.ciphertext), iv: iv, authenticationTag: Array(box.tag))
    }

    /// Any failure of authentication or padding is the same `authenticationFailed`.
    func decrypt(
        _ scheme: CipherScheme, algorithm: String, ciphertext: [UInt8], iv: [UInt8]?, additionalData: [UInt8]?,
        authenticationTag: [UInt8]?
    ) throws -> [UInt8] {
        let (iv, tag) = try scheme.checkedDecryption(
            algorithm, keyByteCount: byteCount, ciphertext: ciphertext, iv: iv, additionalData: additionalData,
            authenticationTag: authenticationTag)
        do {
            if case .aesCBC(_, let padded) = scheme {
                return Array(try AES._CBC.decrypt(ciphertext, using: key, iv: AES._CBC.IV(ivBytes: iv), noPadding: !padded))
            }
            let box = try AES.GCM.SealedBox(nonce: AES.GCM.Nonce(data: iv), ciphertext: ciphertext, tag: tag ?? [])
            return Array(try AES.GCM.open(box, using: key, authenticating: additionalData ?? []))
        } catch {
            throw CryptoFailure.authenticationFailed
        }
    }

    // MARK: - Wrap and unwrap

    func wrap(_ scheme: CipherScheme, algorithm: String, key keyToWrap: [UInt8]) throws -> [UInt8] {
        try scheme.checkWrap(algorithm, keyByteCount: byteCount, keyToWrap: keyToWrap)
        if scheme == .aesKeyWrapPad { return try OpenSSLKeyWrapWithPadding.wrap(keyToWrap, using: bytes) }
        return Array(try AES.KeyWrap.wrap(SymmetricKey(data: keyToWrap), using: key))
    }

    /// Any failure of the integrity check is the same `authenticationFailed`.
    func unwrap(_ scheme: CipherScheme, algorithm: String, wrappedKey: [UInt8]) throws -> [UInt8] {
        try scheme.checkUnwrap(algorithm, keyByteCount: byteCount, wrappedKey: wrappedKey)
        if scheme == .aesKeyWrapPad { return try OpenSSLKeyWrapWithPadding.unwrap(wrappedKey, using: bytes) }
        do {
            return try AES.KeyWrap.unwrap(wrappedKey, using: key).withUnsafeBytes { Array($0) }
        } catch {
            throw CryptoFailure.authenticationFailed
        }
    }

    // MARK: - HMAC

    func sign(_ hash: HashKind, data: [UInt8]) -> [UInt8] {
        switch hash {
        case .sha256: Array(HMAC<SHA256>.authenticationCode(for: data, using: key))
        case .sha384: Array(HMAC<SHA384>.authenticationCode(for: data, using: key))
        case .sha512: Array(HMAC<SHA512>.authenticationCode(for: data, using: key))
        case .sha1: Array(HMAC<Insecure.SHA1>.authenticationCode(for: data, using: key))
        }
    }

    /// Compares in constant time.
    func verify(_ hash: HashKind, data: [UInt8], signature: [UInt8]) -> Bool {
        ConstantTime.equals(sign(hash, data: data), signature)
    }
}
