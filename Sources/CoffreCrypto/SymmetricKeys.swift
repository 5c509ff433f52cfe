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
    static let gcmIVByteCount = 12
    static let gcmTagByteCount = 16
    static let blockByteCount = 16

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
        guard bits.isMultiple(of: 8), byteCounts.contains(bits / 8) else {
            throw CryptoFailure.unsupported("oct keys can be 128, 192 or 256 bits")
        }
        return OctKey(key: SymmetricKey(size: SymmetricKeySize(bitCount: bits)))
    }

    var bytes: [UInt8] { key.withUnsafeBytes { Array($0) } }

    // MARK: - Encrypt and decrypt

    func encrypt(
        _ scheme: CipherScheme, algorithm: String, plaintext: [UInt8], iv: [UInt8]?, additionalData: [UInt8]?
    ) throws -> EncryptionResult {
        switch scheme {
        case .aesGCM(let keyBytes):
            try requireKeySize(keyBytes, for: algorithm)
            let iv = iv ?? SecureRandom.bytes(Self.gcmIVByteCount)
            try requireLength(iv, Self.gcmIVByteCount, "IV", for: algorithm)
            let box = try AES.GCM.seal(
                plaintext, using: key, nonce: try AES.GCM.Nonce(data: iv), authenticating: additionalData ?? [])
            return EncryptionResult(ciphertext: Array(box.ciphertext), iv: iv, authenticationTag: Array(box.tag))
        case .aesCBC(let keyBytes, let padded):
            try requireKeySize(keyBytes, for: algorithm)
            try refuseAdditionalData(additionalData, for: algorithm)
            if !padded, !plaintext.count.isMultiple(of: Self.blockByteCount) {
                throw CryptoFailure.invalidInput(
                    "\(algorithm) needs a plaintext whose length is a multiple of 16 bytes, got \(plaintext.count)")
            }
            let iv = iv ?? SecureRandom.bytes(Self.blockByteCount)
            try requireLength(iv, Self.blockByteCount, "IV", for: algorithm)
            let ciphertext = try AES._CBC.encrypt(plaintext, using: key, iv: AES._CBC.IV(ivBytes: iv), noPadding: !padded)
            return EncryptionResult(ciphertext: Array(ciphertext), iv: iv)
        case .rsa, .aesKeyWrap, .aesKeyWrapPad:
            throw CryptoFailure.unsupported("\(algorithm) cannot be used to encrypt with an oct key")
        }
    }

    /// Any failure of authentication or padding is the same `authenticationFailed`.
    func decrypt(
        _ scheme: CipherScheme, algorithm: String, ciphertext: [UInt8], iv: [UInt8]?, additionalData: [UInt8]?,
        authenticationTag: [UInt8]?
    ) throws -> [UInt8] {
        switch scheme {
        case .aesGCM(let keyBytes):
            try requireKeySize(keyBytes, for: algorithm)
            let iv = try require(iv, "an IV", for: algorithm)
            try requireLength(iv, Self.gcmIVByteCount, "IV", for: algorithm)
            let tag = try require(authenticationTag, "an authentication tag", for: algorithm)
            try requireLength(tag, Self.gcmTagByteCount, "authentication tag", for: algorithm)
            do {
                let box = try AES.GCM.SealedBox(nonce: AES.GCM.Nonce(data: iv), ciphertext: ciphertext, tag: tag)
                return Array(try AES.GCM.open(box, using: key, authenticating: additionalData ?? []))
            } catch {
                throw CryptoFailure.authenticationFailed
            }
        case .aesCBC(let keyBytes, let padded):
            try requireKeySize(keyBytes, for: algorithm)
            try refuseAdditionalData(additionalData, for: algorithm)
            let iv = try require(iv, "an IV", for: algorithm)
            try requireLength(iv, Self.blockByteCount, "IV", for: algorithm)
            guard !ciphertext.isEmpty, ciphertext.count.isMultiple(of: Self.blockByteCount) else {
                throw CryptoFailure.invalidInput(
                    "\(algorithm) needs a ciphertext whose length is a non-zero multiple of 16 bytes, got \(ciphertext.count)")
            }
            do {
                return Array(try AES._CBC.decrypt(ciphertext, using: key, iv: AES._CBC.IV(ivBytes: iv), noPadding: !padded))
            } catch {
                throw CryptoFailure.authenticationFailed
            }
        case .rsa, .aesKeyWrap, .aesKeyWrapPad:
            throw CryptoFailure.unsupported("\(algorithm) cannot be used to decrypt with an oct key")
        }
    }

    // MARK: - Wrap and unwrap

    func wrap(_ scheme: CipherScheme, algorithm: String, key keyToWrap: [UInt8]) throws -> [UInt8] {
        switch scheme {
        case .aesKeyWrap(let keyBytes):
            if let keyBytes { try requireKeySize(keyBytes, for: algorithm) }
            guard keyToWrap.count >= 16, keyToWrap.count.isMultiple(of: 8) else {
                throw CryptoFailure.invalidInput(
                    "\(algorithm) wraps keys of at least 16 bytes in multiples of 8, got \(keyToWrap.count)")
            }
            return Array(try AES.KeyWrap.wrap(SymmetricKey(data: keyToWrap), using: key))
        case .aesKeyWrapPad:
            guard !keyToWrap.isEmpty else { throw CryptoFailure.invalidInput("\(algorithm) cannot wrap an empty key") }
            return try OpenSSLKeyWrapWithPadding.wrap(keyToWrap, using: bytes)
        case .rsa, .aesGCM, .aesCBC:
            throw CryptoFailure.unsupported("\(algorithm) cannot be used to wrap with an oct key")
        }
    }

    /// Any failure of the integrity check is the same `authenticationFailed`.
    func unwrap(_ scheme: CipherScheme, algorithm: String, wrappedKey: [UInt8]) throws -> [UInt8] {
        switch scheme {
        case .aesKeyWrap(let keyBytes):
            if let keyBytes { try requireKeySize(keyBytes, for: algorithm) }
            try requireWrappedLength(wrappedKey, atLeast: 24, for: algorithm)
            do {
                return try AES.KeyWrap.unwrap(wrappedKey, using: key).withUnsafeBytes { Array($0) }
            } catch {
                throw CryptoFailure.authenticationFailed
            }
        case .aesKeyWrapPad:
            try requireWrappedLength(wrappedKey, atLeast: 16, for: algorithm)
            return try OpenSSLKeyWrapWithPadding.unwrap(wrappedKey, using: bytes)
        case .rsa, .aesGCM, .aesCBC:
            throw CryptoFailure.unsupported("\(algorithm) cannot be used to unwrap with an oct key")
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

    // MARK: - Checks

    private func requireKeySize(_ keyBytes: Int, for algorithm: String) throws {
        guard keyBytes == byteCount else {
            throw CryptoFailure.unsupported("\(algorithm) cannot be used with a \(byteCount * 8)-bit key")
        }
    }

    private func requireLength(_ value: [UInt8], _ count: Int, _ name: String, for algorithm: String) throws {
        guard value.count == count else {
            throw CryptoFailure.invalidInput("\(algorithm) needs a \(count)-byte \(name), got \(value.count)")
        }
    }

    private func require(_ value: [UInt8]?, _ name: String, for algorithm: String) throws -> [UInt8] {
        guard let value else { throw CryptoFailure.invalidInput("\(algorithm) needs \(name) to decrypt") }
        return value
    }

    private func refuseAdditionalData(_ additionalData: [UInt8]?, for algorithm: String) throws {
        guard additionalData?.isEmpty ?? true else {
            throw CryptoFailure.invalidInput("\(algorithm) does not authenticate additional data; only AES-GCM does")
        }
    }

    private func requireWrappedLength(_ wrappedKey: [UInt8], atLeast minimum: Int, for algorithm: String) throws {
        guard wrappedKey.count >= minimum, wrappedKey.count.isMultiple(of: 8) else {
            throw CryptoFailure.invalidInput(
                "\(algorithm) needs a wrapped key of at least \(minimum) bytes in multiples of 8, got \(wrappedKey.count)")
        }
    }
}
