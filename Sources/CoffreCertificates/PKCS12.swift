import COpenSSL

/// PKCS#12 (PFX) reading and writing over the system's OpenSSL 3 libcrypto.
///
/// Reading accepts what Windows, .NET, Java and every OpenSSL release write: no password or the empty password
/// (either form), PBES2 (AES + PBKDF2) and the PKCS#12 PBEs (3DES, RC2-40/128, which need the legacy provider).
/// Writing follows Key Vault: without a password nothing is encrypted and the MAC uses the empty password;
/// with one, key and certificates are AES-256-CBC with PBKDF2-HMAC-SHA256 and the MAC is HMAC-SHA256.
enum PKCS12Codec {
    static let iterations: Int32 = 2048

    /// The private key (PKCS#8 DER, if any) and the certificates (DER, in file order).
    static func parse(_ data: [UInt8], password: String?) throws -> (privateKey: [UInt8]?, certificates: [[UInt8]]) {
        let context = try OpenSSLContext()
        defer { ERR_clear_error() }
        let parsed = data.withUnsafeBufferPointer { buffer -> OpaquePointer? in
            var cursor = buffer.baseAddress
            return d2i_PKCS12(nil, &cursor, buffer.count)
        }
        guard let p12 = parsed else {
            throw CertificateFailure(.invalidPKCS12, "The data is not a PKCS#12 (PFX) file: \(OpenSSLContext.drainErrors()).")
        }
        defer { PKCS12_free(p12) }
        let password = try macPassword(p12, given: password)
        guard let safes = PKCS12_unpack_authsafes(p12) else {
            throw CertificateFailure(.invalidPKCS12, "The PKCS#12 file's contents cannot be read: \(OpenSSLContext.drainErrors()).")
        }
        defer { OPENSSL_sk_pop_free(safes) { PKCS7_free($0?.assumingMemoryBound(to: PKCS7.self)) } }
        var reader = BagReader(context: context, password: password)
        for element in OpenSSLStack.elements(safes) {
            try reader.read(safe: element.assumingMemoryBound(to: PKCS7.self))
        }
        return (reader.privateKey, reader.certificates)
    }

    /// A PFX holding `privateKey` (PKCS#8 DER, optional) and `certificates` (leaf first).
    static func make(privateKey: [UInt8]?, certificates: [[UInt8]], password: String?) throws -> [UInt8] {
        guard privateKey != nil || !certificates.isEmpty else {
            throw CertificateFailure(.invalidPKCS12, "A PKCS#12 file needs a private key or a certificate.")
        }
        let context = try OpenSSLContext()
        defer { ERR_clear_error() }
        let key = try privateKey.map { try context.privateKey(pkcs8: $0) }
        defer { if let key { EVP_PKEY_free(key) } }
        var x509s: [OpaquePointer] = []
        defer { for x509 in x509s { X509_free(x509) } }
        for der in certificates { x509s.append(try context.certificate(der: der)) }
        if let key, let leaf = x509s.first, X509_check_private_key(leaf, key) != 1 {
            throw CertificateFailure(.publicKeyMismatch, "The private key is not the key of the first certificate.")
        }
        guard let authorities = OPENSSL_sk_new_null() else {
            throw CertificateFailure(.cryptoLibrary, "OpenSSL could not allocate a certificate list.")
        }
        defer { OPENSSL_sk_free(authorities) }
        for x509 in x509s.dropFirst() where OPENSSL_sk_push(authorities, UnsafeRawPointer(x509)) <= 0 {
            throw CertificateFailure(.cryptoLibrary, "OpenSSL could not build a certificate list.")
        }
        let secret = password.flatMap { $0.isEmpty ? nil : $0 }
        if let secret, secret.utf8.contains(0) {
            throw CertificateFailure(.invalidPKCS12, "A PKCS#12 password cannot contain a NUL character.")
        }
        let cipher = secret == nil ? -1 : NID_aes_256_cbc
        let built = withOptionalCString(secret) { pass in
            PKCS12_create_ex(
                pass, nil, key, x509s.first, authorities, cipher, cipher, iterations, -1, 0, context.pointer, nil)
        }
        guard let p12 = built else {
            throw CertificateFailure(.cryptoLibrary, "OpenSSL could not build the PKCS#12 file: \(OpenSSLContext.drainErrors()).")
        }
        defer { PKCS12_free(p12) }
        guard let sha256 = EVP_MD_fetch(context.pointer, "SHA256", nil) else {
            throw CertificateFailure(.cryptoLibrary, "OpenSSL has no SHA-256: \(OpenSSLContext.drainErrors()).")
        }
        defer { EVP_MD_free(sha256) }
        let macked = withOptionalCString(secret ?? "") { pass in PKCS12_set_mac(p12, pass, -1, nil, 0, iterations, sha256) }
        guard macked == 1 else {
            throw CertificateFailure(.cryptoLibrary, "OpenSSL could not compute the PKCS#12 MAC: \(OpenSSLContext.drainErrors()).")
        }
        return try OpenSSLContext.encoded("the PKCS#12 file") { i2d_PKCS12(p12, $0) }
    }

    /// The password form that verifies the MAC. A missing and an empty password are tried both as "no password"
    /// and as the empty string, since writers disagree on which one the empty password means.
    private static func macPassword(_ p12: OpaquePointer, given password: String?) throws -> String? {
        let candidates: [String?] = (password ?? "").isEmpty ? [nil, ""] : [password]
        if let password, password.utf8.contains(0) { throw CertificateFailure.wrongPassword() }
        guard PKCS12_mac_present(p12) == 1 else { return candidates[0] }
        for candidate in candidates {
            let verified = withOptionalCString(candidate) { pass in
                PKCS12_verify_mac(p12, pass, pass == nil ? 0 : -1)
            }
            if verified == 1 { return candidate }
            OpenSSLContext.drainErrors()
        }
        throw CertificateFailure.wrongPassword()
    }
}

/// Collects keys and certificates from the SafeContents of a PFX, decrypting in our library context.
private struct BagReader {
    let context: OpenSSLContext
    let password: String?
    var privateKey: [UInt8]?
    var certificates: [[UInt8]] = []

    init(context: OpenSSLContext, password: String?) {
        self.context = context
        self.password = password
    }

    mutating func read(safe p7: UnsafeMutablePointer<PKCS7>) throws {
        switch OBJ_obj2nid(p7.pointee.type) {
        case NID_pkcs7_data:
            guard let bags = PKCS12_unpack_p7data(p7) else { throw malformed() }
            defer { freeBags(bags) }
            try read(bags: bags)
        case NID_pkcs7_encrypted:
            guard let content = p7.pointee.d.encrypted?.pointee.enc_data, let algorithm = content.pointee.algorithm else {
                throw malformed()
            }
            let decrypted = withOptionalCString(password) { pass in
                PKCS12_item_decrypt_d2i_ex(
                    algorithm, PKCS12_SAFEBAGS_it(), pass, pass == nil ? 0 : -1, content.pointee.enc_data, 1, context.pointer,
                    nil)
            }
            guard let decrypted else { throw decryptionFailure(algorithm) }
            let bags = OpaquePointer(decrypted)
            defer { freeBags(bags) }
            try read(bags: bags)
        default:
            // Public-key encrypted safes (enveloped data) are not something Key Vault accepts either.
            throw CertificateFailure(.invalidPKCS12, "The PKCS#12 file uses public-key privacy mode, which is not supported.")
        }
    }

    private mutating func read(bags: OpaquePointer) throws {
        for element in OpenSSLStack.elements(bags) {
            let bag = OpaquePointer(element)
            switch PKCS12_SAFEBAG_get_nid(bag) {
            case NID_keyBag:
                guard let info = PKCS12_SAFEBAG_get0_p8inf(bag) else { throw malformed() }
                try keep(key: OpenSSLContext.encoded("the private key") { i2d_PKCS8_PRIV_KEY_INFO(info, $0) })
            case NID_pkcs8ShroudedKeyBag:
                let info = withOptionalCString(password) { pass in
                    PKCS12_decrypt_skey_ex(bag, pass, pass == nil ? 0 : -1, context.pointer, nil)
                }
                guard let info else {
                    var algorithm: UnsafePointer<X509_ALGOR>?
                    X509_SIG_get0(PKCS12_SAFEBAG_get0_pkcs8(bag), &algorithm, nil)
                    throw decryptionFailure(algorithm)
                }
                defer { PKCS8_PRIV_KEY_INFO_free(info) }
                try keep(key: OpenSSLContext.encoded("the private key") { i2d_PKCS8_PRIV_KEY_INFO(info, $0) })
            case NID_certBag where PKCS12_SAFEBAG_get_bag_nid(bag) == NID_x509Certificate:
                guard let x509 = PKCS12_SAFEBAG_get1_cert(bag) else { throw malformed() }
                defer { X509_free(x509) }
                certificates.append(try OpenSSLContext.encoded("a certificate") { i2d_X509(x509, $0) })
            case NID_safeContentsBag:
                guard let nested = PKCS12_SAFEBAG_get0_safes(bag) else { throw malformed() }
                try read(bags: nested)
            default:
                continue // CRL, secret and SDSI certificate bags carry nothing Key Vault keeps.
            }
        }
    }

    private mutating func keep(key: [UInt8]) throws {
        guard privateKey == nil else {
            throw CertificateFailure(.invalidPKCS12, "The PKCS#12 file holds more than one private key.")
        }
        privateKey = key
    }

    private func freeBags(_ bags: OpaquePointer) {
        OPENSSL_sk_pop_free(bags) { PKCS12_SAFEBAG_free(OpaquePointer($0)) }
    }

    private func malformed() -> CertificateFailure {
        CertificateFailure(.invalidPKCS12, "The PKCS#12 file is malformed: \(OpenSSLContext.drainErrors()).")
    }

    /// RC2 without the legacy provider is a missing library, not a wrong password.
    private func decryptionFailure(_ algorithm: UnsafePointer<X509_ALGOR>?) -> CertificateFailure {
        OpenSSLContext.drainErrors()
        var object: OpaquePointer?
        if let algorithm { X509_ALGOR_get0(&object, nil, nil, algorithm) }
        let nid = object.map { OBJ_obj2nid($0) } ?? NID_undef
        if !context.hasLegacyProvider, [NID_pbe_WithSHA1And40BitRC2_CBC, NID_pbe_WithSHA1And128BitRC2_CBC].contains(nid) {
            return CertificateFailure(
                .cryptoLibrary, "The PKCS#12 file is encrypted with RC2, which needs OpenSSL's legacy provider; it is not installed.")
        }
        return CertificateFailure.wrongPassword()
    }
}

/// Calls `body` with `text` as a C string, or with NULL.
private func withOptionalCString<T>(_ text: String?, _ body: (UnsafePointer<CChar>?) -> T) -> T {
    guard let text else { return body(nil) }
    return text.withCString { body($0) }
}
