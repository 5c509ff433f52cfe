import COpenSSL

/// An OpenSSL 3 library context of our own, with the `default` provider and, when installed, the `legacy` one.
///
/// The legacy provider holds RC2 (and the other old ciphers of Windows-made PFX files). Loading it in a private
/// context keeps the process-wide default context as the rest of Coffre expects it. One context serves one
/// operation on one thread; it is cheap enough to make per call.
final class OpenSSLContext {
    let pointer: OpaquePointer
    let hasLegacyProvider: Bool
    private let providers: [OpaquePointer]

    init() throws {
        ERR_clear_error()
        guard let context = OSSL_LIB_CTX_new() else {
            throw CertificateFailure(.cryptoLibrary, "OpenSSL could not create a library context.")
        }
        guard let standard = OSSL_PROVIDER_load(context, "default") else {
            OSSL_LIB_CTX_free(context)
            throw CertificateFailure(.cryptoLibrary, "OpenSSL could not load its default provider: \(Self.drainErrors()).")
        }
        let legacy = OSSL_PROVIDER_load(context, "legacy")
        if legacy == nil { ERR_clear_error() }
        self.pointer = context
        self.hasLegacyProvider = legacy != nil
        self.providers = [standard] + (legacy.map { [$0] } ?? [])
    }

    deinit {
        for provider in providers.reversed() { OSSL_PROVIDER_unload(provider) }
        OSSL_LIB_CTX_free(pointer)
    }

    /// Reads a PKCS#8 DER private key; the caller frees the result with `EVP_PKEY_free`.
    func privateKey(pkcs8 der: [UInt8]) throws -> OpaquePointer {
        let info = der.withUnsafeBufferPointer { buffer -> OpaquePointer? in
            var cursor = buffer.baseAddress
            return d2i_PKCS8_PRIV_KEY_INFO(nil, &cursor, buffer.count)
        }
        guard let info else {
            throw CertificateFailure(.invalidPrivateKey, "The private key is not PKCS#8 DER: \(Self.drainErrors()).")
        }
        defer { PKCS8_PRIV_KEY_INFO_free(info) }
        guard let key = EVP_PKCS82PKEY_ex(info, pointer, nil) else {
            throw CertificateFailure(.invalidPrivateKey, "The private key cannot be read: \(Self.drainErrors()).")
        }
        return key
    }

    /// Reads a DER certificate; the caller frees the result with `X509_free`.
    func certificate(der: [UInt8]) throws -> OpaquePointer {
        let certificate = der.withUnsafeBufferPointer { buffer -> OpaquePointer? in
            var cursor = buffer.baseAddress
            return d2i_X509(nil, &cursor, buffer.count)
        }
        guard let certificate else {
            throw CertificateFailure(.invalidCertificate, "The certificate is not valid DER X.509: \(Self.drainErrors()).")
        }
        return certificate
    }

    /// The DER SubjectPublicKeyInfo of a PKCS#8 private key; reading it also checks the key.
    func subjectPublicKeyInfo(ofPKCS8 der: [UInt8]) throws -> [UInt8] {
        let key = try privateKey(pkcs8: der)
        defer { EVP_PKEY_free(key) }
        return try Self.encoded("the public key") { i2d_PUBKEY(key, $0) }
    }

    // MARK: - Helpers

    /// Runs an OpenSSL `i2d_*` function twice (length, then bytes).
    static func encoded(_ what: String, _ encode: (UnsafeMutablePointer<UnsafeMutablePointer<UInt8>?>?) -> Int32) throws -> [UInt8] {
        let length = encode(nil)
        guard length > 0 else {
            throw CertificateFailure(.cryptoLibrary, "OpenSSL could not encode \(what): \(drainErrors()).")
        }
        var bytes = [UInt8](repeating: 0, count: Int(length))
        let written = bytes.withUnsafeMutableBufferPointer { buffer -> Int32 in
            var cursor = buffer.baseAddress
            return encode(&cursor)
        }
        guard written == length else {
            throw CertificateFailure(.cryptoLibrary, "OpenSSL could not encode \(what): \(drainErrors()).")
        }
        return bytes
    }

    /// Empties this thread's OpenSSL error queue, returning the reason of the last error.
    @discardableResult
    static func drainErrors() -> String {
        var last: UInt = 0
        while true {
            let code = ERR_get_error()
            if code == 0 { break }
            last = code
        }
        guard last != 0, let reason = ERR_reason_error_string(last) else { return "no detail from OpenSSL" }
        return String(cString: reason)
    }
}

/// Untyped access to OpenSSL stacks, whose typed `sk_*` accessors are C macros Swift cannot call.
enum OpenSSLStack {
    static func elements(_ stack: OpaquePointer) -> [UnsafeMutableRawPointer] {
        (0..<max(0, OPENSSL_sk_num(stack))).compactMap { OPENSSL_sk_value(stack, $0) }
    }
}
