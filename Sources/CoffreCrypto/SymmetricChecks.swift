/// The checks of an AES operation on an `oct` key of `keyByteCount` bytes, and the IV it uses: the same for a key in
/// memory (`OctKey`) and a key in a PKCS#11 token, so both answer a request alike. Each returns what the operation
/// needs once the inputs are known to be good.
extension CipherScheme {
    public static let gcmIVByteCount = 12
    public static let gcmTagByteCount = 16
    public static let blockByteCount = 16

    /// The IV of an encryption (the caller's, or a random one of the right length).
    public func checkedEncryption(
        _ algorithm: String, keyByteCount: Int, plaintext: [UInt8], iv: [UInt8]?, additionalData: [UInt8]?
    ) throws -> [UInt8] {
        let ivByteCount: Int
        switch self {
        case .aesGCM(let keyBytes):
            try Self.requireKeySize(keyBytes, keyByteCount, for: algorithm)
            ivByteCount = Self.gcmIVByteCount
        case .aesCBC(let keyBytes, let padded):
            try Self.requireKeySize(keyBytes, keyByteCount, for: algorithm)
            try Self.refuseAdditionalData(additionalData, for: algorithm)
            if !padded, !plaintext.count.isMultiple(of: Self.blockByteCount) {
                throw CryptoFailure.invalidInput(
                    "\(algorithm) needs a plaintext whose length is a multiple of 16 bytes, got \(plaintext.count)")
            }
            ivByteCount = Self.blockByteCount
        case .rsa, .aesKeyWrap, .aesKeyWrapPad:
            throw CryptoFailure.unsupported("\(algorithm) cannot be used to encrypt with an oct key")
        }
        let iv = iv ?? SecureRandom.bytes(ivByteCount)
        try Self.requireLength(iv, ivByteCount, "IV", for: algorithm)
        return iv
    }

    /// The IV and (AES-GCM) authentication tag of a decryption.
    public func checkedDecryption(
        _ algorithm: String, keyByteCount: Int, ciphertext: [UInt8], iv: [UInt8]?, additionalData: [UInt8]?,
        authenticationTag: [UInt8]?
    ) throws -> (iv: [UInt8], tag: [UInt8]?) {
        switch self {
        case .aesGCM(let keyBytes):
            try Self.requireKeySize(keyBytes, keyByteCount, for: algorithm)
            let iv = try Self.require(iv, "an IV", for: algorithm)
            try Self.requireLength(iv, Self.gcmIVByteCount, "IV", for: algorithm)
            let tag = try Self.require(authenticationTag, "an authentication tag", for: algorithm)
            try Self.requireLength(tag, Self.gcmTagByteCount, "authentication tag", for: algorithm)
            return (iv, tag)
        case .aesCBC(let keyBytes, _):
            try Self.requireKeySize(keyBytes, keyByteCount, for: algorithm)
            try Self.refuseAdditionalData(additionalData, for: algorithm)
            let iv = try Self.require(iv, "an IV", for: algorithm)
            try Self.requireLength(iv, Self.blockByteCount, "IV", for: algorithm)
            guard !ciphertext.isEmpty, ciphertext.count.isMultiple(of: Self.blockByteCount) else {
                throw CryptoFailure.invalidInput(
                    "\(algorithm) needs a ciphertext whose length is a non-zero multiple of 16 bytes, got \(ciphertext.count)")
            }
            return (iv, nil)
        case .rsa, .aesKeyWrap, .aesKeyWrapPad:
            throw CryptoFailure.unsupported("\(algorithm) cannot be used to decrypt with an oct key")
        }
    }

    /// Checks a key wrap (RFC 3394: at least 16 bytes in multiples of 8; RFC 5649: at least one byte).
    public func checkWrap(_ algorithm: String, keyByteCount: Int, keyToWrap: [UInt8]) throws {
        switch self {
        case .aesKeyWrap(let keyBytes):
            if let keyBytes { try Self.requireKeySize(keyBytes, keyByteCount, for: algorithm) }
            guard keyToWrap.count >= 16, keyToWrap.count.isMultiple(of: 8) else {
                throw CryptoFailure.invalidInput(
                    "\(algorithm) wraps keys of at least 16 bytes in multiples of 8, got \(keyToWrap.count)")
            }
        case .aesKeyWrapPad:
            guard !keyToWrap.isEmpty else { throw CryptoFailure.invalidInput("\(algorithm) cannot wrap an empty key") }
        case .rsa, .aesGCM, .aesCBC:
            throw CryptoFailure.unsupported("\(algorithm) cannot be used to wrap with an oct key")
        }
    }

    /// Checks a key unwrap's input length.
    public func checkUnwrap(_ algorithm: String, keyByteCount: Int, wrappedKey: [UInt8]) throws {
        let minimum: Int
        switch self {
        case .aesKeyWrap(let keyBytes):
            if let keyBytes { try Self.requireKeySize(keyBytes, keyByteCount, for: algorithm) }
            minimum = 24
        case .aesKeyWrapPad:
            minimum = 16
        case .rsa, .aesGCM, .aesCBC:
            throw CryptoFailure.unsupported("\(algorithm) cannot be used to unwrap with an oct key")
        }
        guard wrappedKey.count >= minimum, wrappedKey.count.isMultiple(of: 8) else {
            throw CryptoFailure.invalidInput(
                "\(algorithm) needs a wrapped key of at least \(minimum) bytes in multiples of 8, got \(wrappedKey.count)")
        }
    }

    // MARK: - Checks

    private static func requireKeySize(_ keyBytes: Int, _ byteCount: Int, for algorithm: String) throws {
        guard keyBytes == byteCount else {
            throw CryptoFailure.unsupported("\(algorithm) cannot be used with a \(byteCount * 8)-bit key")
        }
    }

    private static func requireLength(_ value: [UInt8], _ count: Int, _ name: String, for algorithm: String) throws {
        guard value.count == count else {
            throw CryptoFailure.invalidInput("\(algorithm) needs a \(count)-byte \(name), got \(value.count)")
        }
    }

    private static func require(_ value: [UInt8]?, _ name: String, for algorithm: String) throws -> [UInt8] {
        guard let value else { throw CryptoFailure.invalidInput("\(algorithm) needs \(name) to decrypt") }
        return value
    }

    private static func refuseAdditionalData(_ additionalData: [UInt8]?, for algorithm: String) throws {
        guard additionalData?.isEmpty ?? true else {
            throw CryptoFailure.invalidInput("\(algorithm) does not authenticate additional data; only AES-GCM does")
        }
    }
}

extension KeyMaterial {
    /// The size in bits of a new oct key: 256 by default; 128, 192 and 256 only.
    public static func octGenerationBits(_ size: Int?) throws -> Int {
        let bits = size ?? 256
        guard bits.isMultiple(of: 8), OctKey.byteCounts.contains(bits / 8) else {
            throw CryptoFailure.unsupported("oct keys can be 128, 192 or 256 bits")
        }
        return bits
    }
}
