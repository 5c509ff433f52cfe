import COpenSSL

/// The system OpenSSL 3 libcrypto, used behind the crypto engine for what swift-crypto lacks.
public enum SystemOpenSSL {
    /// The library's version text ("OpenSSL 3.0.x …").
    public static var version: String { String(cString: OpenSSL_version(numericCast(OPENSSL_VERSION))) }
}
