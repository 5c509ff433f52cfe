import COpenSSL

/// An OpenSSL 3 `EVP_PKEY`, owned: freed when the last reference goes away.
///
/// Used for what swift-crypto lacks: RSA signatures over a digest the caller computed (RS*, PS*, RSNULL), RSA keys
/// with another public exponent than 65537, and secp256k1 (P-256K / ES256K); and for RSA decryption, where OpenSSL's
/// private-key operation is faster (it uses AVX-512 IFMA where the CPU has it).
///
/// The key is never modified after it is built, and every operation makes its own `EVP_PKEY_CTX`; OpenSSL 3 allows
/// that from several threads at once on one `EVP_PKEY`, which is why the class is `@unchecked Sendable`.
final class OpenSSLKey: @unchecked Sendable {
    private let pointer: OpaquePointer

    private init(taking pointer: OpaquePointer) { self.pointer = pointer }

    deinit { EVP_PKEY_free(pointer) }

    // MARK: - Generation

    static func generateRSA(bits: Int, publicExponent: Int) throws -> OpenSSLKey {
        try generate(algorithm: "RSA") { context in
            guard let exponent = BN_new() else { return false }
            defer { BN_free(exponent) }
            // BN_ULONG is unsigned long: UInt.
            return BN_set_word(exponent, UInt(publicExponent)) == 1
                && EVP_PKEY_CTX_set_rsa_keygen_bits(context, Int32(bits)) == 1
                && EVP_PKEY_CTX_set1_rsa_keygen_pubexp(context, exponent) == 1
        }
    }

    static func generateEC(group: String) throws -> OpenSSLKey {
        try generate(algorithm: "EC") { EVP_PKEY_CTX_set_group_name($0, group) == 1 }
    }

    private static func generate(algorithm: String, configure: (OpaquePointer) -> Bool) throws -> OpenSSLKey {
        guard let context = EVP_PKEY_CTX_new_from_name(nil, algorithm, nil) else { throw openSSLFailure("key context") }
        defer { EVP_PKEY_CTX_free(context) }
        var key: OpaquePointer?
        guard EVP_PKEY_keygen_init(context) == 1, configure(context), EVP_PKEY_generate(context, &key) == 1, let key else {
            throw openSSLFailure("key generation")
        }
        return OpenSSLKey(taking: key)
    }

    // MARK: - Parsing and building

    /// Parses a DER PKCS#8 `PrivateKeyInfo` (unencrypted); trailing bytes are refused.
    convenience init(pkcs8DER der: [UInt8]) throws {
        guard let info = Self.decodeDER(der, d2i_PKCS8_PRIV_KEY_INFO, free: PKCS8_PRIV_KEY_INFO_free) else {
            throw invalidKeyFailure("the PKCS#8 private key cannot be parsed")
        }
        defer { PKCS8_PRIV_KEY_INFO_free(info) }
        guard let key = EVP_PKCS82PKEY(info) else { throw invalidKeyFailure("the PKCS#8 private key cannot be parsed") }
        self.init(taking: key)
    }

    /// Parses a DER `SubjectPublicKeyInfo`; trailing bytes are refused.
    convenience init(subjectPublicKeyInfoDER der: [UInt8]) throws {
        guard let key = Self.decodeDER(der, d2i_PUBKEY, free: EVP_PKEY_free) else {
            throw invalidKeyFailure("the public key cannot be parsed")
        }
        self.init(taking: key)
    }

    /// Runs a `d2i_*` decoder over all of `der`; `nil` (with the object freed) when it fails or leaves bytes over.
    private static func decodeDER(
        _ der: [UInt8],
        _ decode: (UnsafeMutablePointer<OpaquePointer?>?, UnsafeMutablePointer<UnsafePointer<UInt8>?>?, Int) -> OpaquePointer?,
        free: (OpaquePointer) -> Void
    ) -> OpaquePointer? {
        der.withUnsafeBufferPointer { buffer in
            guard let start = buffer.baseAddress else { return nil }
            var cursor: UnsafePointer<UInt8>? = start
            guard let object = decode(nil, &cursor, buffer.count) else { return nil }
            guard cursor == start + buffer.count else {
                free(object)
                return nil
            }
            return object
        }
    }

    /// An EC key from its coordinates (fixed width) and, for a key pair, its private scalar (fixed width).
    /// OpenSSL refuses a point that is not on the curve; ``isConsistent`` checks the rest.
    static func ecKey(group: String, x: [UInt8], y: [UInt8], d: [UInt8]?) throws -> OpenSSLKey {
        try ecKey(group: group, encodedPoint: [0x04] + x + y, d: d)
    }

    /// An EC key from its SEC 1 point: uncompressed (`04‖x‖y`) or compressed (`02‖x`, `03‖x`, which OpenSSL
    /// decompresses), and for a key pair its private scalar.
    static func ecKey(group: String, encodedPoint: [UInt8], d: [UInt8]? = nil) throws -> OpenSSLKey {
        let parameters = try ParameterBuilder()
        try parameters.push(OSSL_PKEY_PARAM_GROUP_NAME, utf8: group)
        try parameters.push(OSSL_PKEY_PARAM_PUB_KEY, octets: encodedPoint)
        if let d { try parameters.push(OSSL_PKEY_PARAM_PRIV_KEY, bigEndian: d) }
        return try parameters.withParameters { list in
            guard let context = EVP_PKEY_CTX_new_from_name(nil, "EC", nil) else { throw openSSLFailure("key context") }
            defer { EVP_PKEY_CTX_free(context) }
            var key: OpaquePointer?
            let selection = d == nil ? KeySelection.publicKey : KeySelection.keyPair
            guard EVP_PKEY_fromdata_init(context) == 1, EVP_PKEY_fromdata(context, &key, selection, list) == 1,
                let key
            else { throw invalidKeyFailure("the EC key is not valid for its curve") }
            return OpenSSLKey(taking: key)
        }
    }

    // MARK: - Inspection and export

    func isA(_ algorithm: String) -> Bool { EVP_PKEY_is_a(pointer, algorithm) == 1 }

    /// The curve of an EC key, as OpenSSL names it (`prime256v1`, `secp256k1`…).
    var groupName: String? {
        var buffer = [CChar](repeating: 0, count: 80)
        var length = 0
        guard EVP_PKEY_get_utf8_string_param(pointer, OSSL_PKEY_PARAM_GROUP_NAME, &buffer, buffer.count, &length) == 1
        else {
            ERR_clear_error()
            return nil
        }
        return String(decoding: buffer.prefix(length).map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// A big-number parameter (`OSSL_PKEY_PARAM_RSA_N`…) as unsigned big-endian bytes: minimal, or left-padded to
    /// `width` bytes.
    func bigEndian(_ name: String, width: Int? = nil) throws -> [UInt8] {
        var number: OpaquePointer?
        guard EVP_PKEY_get_bn_param(pointer, name, &number) == 1, let number else {
            throw openSSLFailure("reading a key parameter")
        }
        defer { BN_clear_free(number) }
        let minimal = Int((BN_num_bits(number) + 7) / 8)
        let count = width ?? minimal
        guard minimal <= count else { throw openSSLFailure("reading a key parameter") }
        var bytes = [UInt8](repeating: 0, count: count)
        guard Int(BN_bn2binpad(number, &bytes, Int32(count))) == count else { throw openSSLFailure("reading a key parameter") }
        return bytes
    }

    /// OpenSSL's own full check: for RSA, primes, modulus, exponents and CRT values; for EC, point on the curve,
    /// scalar in range and d·G = Q. Public keys get the public part of the check only.
    func isConsistent(includingPrivateKey: Bool) -> Bool {
        guard let context = EVP_PKEY_CTX_new_from_pkey(nil, pointer, nil) else {
            ERR_clear_error()
            return false
        }
        defer { EVP_PKEY_CTX_free(context) }
        let valid = (includingPrivateKey ? EVP_PKEY_check(context) : EVP_PKEY_public_check(context)) == 1
        if !valid { ERR_clear_error() }
        return valid
    }

    var pkcs8DER: [UInt8] {
        get throws {
            guard let info = EVP_PKEY2PKCS8(pointer) else { throw openSSLFailure("PKCS#8 encoding") }
            defer { PKCS8_PRIV_KEY_INFO_free(info) }
            return try encodeDER("PKCS#8 encoding") { i2d_PKCS8_PRIV_KEY_INFO(info, $0) }
        }
    }

    var subjectPublicKeyInfoDER: [UInt8] {
        get throws { try encodeDER("public key encoding") { i2d_PUBKEY(pointer, $0) } }
    }

    /// Runs an `i2d_*` encoder twice: once for the length, once into a buffer of that length.
    private func encodeDER(
        _ what: String, _ encode: (UnsafeMutablePointer<UnsafeMutablePointer<UInt8>?>?) -> Int32
    ) throws -> [UInt8] {
        let length = encode(nil)
        guard length > 0 else { throw openSSLFailure(what) }
        var bytes = [UInt8](repeating: 0, count: Int(length))
        let written = bytes.withUnsafeMutableBufferPointer { buffer -> Int32 in
            var cursor = buffer.baseAddress
            return encode(&cursor)
        }
        guard written == length else { throw openSSLFailure(what) }
        return bytes
    }

    // MARK: - Signatures

    /// Signs `input` as given (a digest, or the raw bytes for RSNULL) after `configure` has set padding and digest.
    func sign(_ input: [UInt8], configure: (OpaquePointer) -> Bool) throws -> [UInt8] {
        guard let context = EVP_PKEY_CTX_new_from_pkey(nil, pointer, nil) else { throw openSSLFailure("signing") }
        defer { EVP_PKEY_CTX_free(context) }
        var length = 0
        guard EVP_PKEY_sign_init(context) == 1, configure(context),
            EVP_PKEY_sign(context, nil, &length, input, input.count) == 1
        else { throw openSSLFailure("signing") }
        var signature = [UInt8](repeating: 0, count: length)
        guard EVP_PKEY_sign(context, &signature, &length, input, input.count) == 1 else { throw openSSLFailure("signing") }
        if length < signature.count { signature.removeSubrange(length...) }
        return signature
    }

    /// Decrypts `ciphertext` after `configure` has set the padding; `nil` on any failure, whatever its cause.
    func decrypt(_ ciphertext: [UInt8], configure: (OpaquePointer) -> Bool) -> [UInt8]? {
        guard let context = EVP_PKEY_CTX_new_from_pkey(nil, pointer, nil) else {
            ERR_clear_error()
            return nil
        }
        defer { EVP_PKEY_CTX_free(context) }
        var length = 0
        guard EVP_PKEY_decrypt_init(context) == 1, configure(context),
            EVP_PKEY_decrypt(context, nil, &length, ciphertext, ciphertext.count) == 1
        else {
            ERR_clear_error()
            return nil
        }
        var plaintext = [UInt8](repeating: 0, count: length)
        guard EVP_PKEY_decrypt(context, &plaintext, &length, ciphertext, ciphertext.count) == 1 else {
            ERR_clear_error()
            return nil
        }
        plaintext.removeSubrange(length...)
        return plaintext
    }

    /// `true` only when OpenSSL says the signature is valid; any error is a `false`.
    func verify(_ signature: [UInt8], for input: [UInt8], configure: (OpaquePointer) -> Bool) -> Bool {
        guard let context = EVP_PKEY_CTX_new_from_pkey(nil, pointer, nil) else {
            ERR_clear_error()
            return false
        }
        defer { EVP_PKEY_CTX_free(context) }
        let valid =
            EVP_PKEY_verify_init(context) == 1 && configure(context)
            && EVP_PKEY_verify(context, signature, signature.count, input, input.count) == 1
        if !valid { ERR_clear_error() }
        return valid
    }
}

// MARK: - Parameters for EVP_PKEY_fromdata

/// `EVP_PKEY_fromdata` selections (`EVP_PKEY_PUBLIC_KEY`, `EVP_PKEY_KEYPAIR`; macros Swift does not import).
private enum KeySelection {
    static let publicKey = Int32(OSSL_KEYMGMT_SELECT_ALL_PARAMETERS | OSSL_KEYMGMT_SELECT_PUBLIC_KEY)
    static let keyPair = publicKey | Int32(OSSL_KEYMGMT_SELECT_PRIVATE_KEY)
}

/// An `OSSL_PARAM_BLD` that owns everything it points to: the builder keeps pointers to names, strings and numbers
/// until `OSSL_PARAM_BLD_to_param`, and the parameter list keeps pointers to the names after that.
final class ParameterBuilder {
    private let builder: OpaquePointer
    private var strings: [UnsafeMutablePointer<CChar>] = []
    private var buffers: [UnsafeMutableRawBufferPointer] = []
    private var numbers: [OpaquePointer] = []

    init() throws {
        guard let builder = OSSL_PARAM_BLD_new() else { throw openSSLFailure("parameter builder") }
        self.builder = builder
    }

    deinit {
        OSSL_PARAM_BLD_free(builder)
        for number in numbers { BN_clear_free(number) }
        for buffer in buffers {
            buffer.initializeMemory(as: UInt8.self, repeating: 0)
            buffer.deallocate()
        }
        for string in strings { string.deallocate() }
    }

    /// A C string that lives as long as the builder.
    private func own(_ text: String) -> UnsafeMutablePointer<CChar> {
        let characters = Array(text.utf8CString)
        let copy = UnsafeMutablePointer<CChar>.allocate(capacity: characters.count)
        copy.initialize(from: characters, count: characters.count)
        strings.append(copy)
        return copy
    }

    func push(_ name: String, utf8 value: String) throws {
        guard OSSL_PARAM_BLD_push_utf8_string(builder, own(name), own(value), 0) == 1 else {
            throw openSSLFailure("parameter builder")
        }
    }

    func push(_ name: String, octets: [UInt8]) throws {
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: max(octets.count, 1), alignment: 1)
        buffers.append(buffer)
        buffer.copyBytes(from: octets)
        guard OSSL_PARAM_BLD_push_octet_string(builder, own(name), buffer.baseAddress, octets.count) == 1 else {
            throw openSSLFailure("parameter builder")
        }
    }

    func push(_ name: String, uint64 value: UInt64) throws {
        guard OSSL_PARAM_BLD_push_uint64(builder, own(name), value) == 1 else { throw openSSLFailure("parameter builder") }
    }

    func push(_ name: String, uint32 value: UInt32) throws {
        guard OSSL_PARAM_BLD_push_uint32(builder, own(name), value) == 1 else { throw openSSLFailure("parameter builder") }
    }

    func push(_ name: String, bigEndian bytes: [UInt8]) throws {
        guard let number = BN_secure_new() else { throw openSSLFailure("parameter builder") }
        numbers.append(number)
        guard BN_bin2bn(bytes, Int32(bytes.count), number) != nil, OSSL_PARAM_BLD_push_BN(builder, own(name), number) == 1
        else { throw openSSLFailure("parameter builder") }
    }

    func withParameters<T>(_ body: (UnsafeMutablePointer<OSSL_PARAM>) throws -> T) throws -> T {
        guard let list = OSSL_PARAM_BLD_to_param(builder) else { throw openSSLFailure("parameter builder") }
        defer { OSSL_PARAM_free(list) }
        return try body(list)
    }
}

// MARK: - Failures

/// An OpenSSL call failed: the thread's error queue is cleared (so the failure does not leak into the next caller on
/// this thread) and a message without detail is returned.
func openSSLFailure(_ what: String) -> CryptoFailure {
    ERR_clear_error()
    return .internal("OpenSSL: \(what) failed")
}

private func invalidKeyFailure(_ message: String) -> CryptoFailure {
    ERR_clear_error()
    return .invalidKey(message)
}
