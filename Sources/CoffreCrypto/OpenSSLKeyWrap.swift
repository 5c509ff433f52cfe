import COpenSSL

/// AES key wrap with padding (RFC 5649, `CKM_AES_KEY_WRAP_PAD`), which swift-crypto does not offer.
enum OpenSSLKeyWrapWithPadding {
    static func wrap(_ key: [UInt8], using kek: [UInt8]) throws -> [UInt8] {
        try run(encrypting: true, key, kek: kek)
    }

    /// Throws `authenticationFailed` when the integrity check fails, whatever the cause.
    static func unwrap(_ wrappedKey: [UInt8], using kek: [UInt8]) throws -> [UInt8] {
        try run(encrypting: false, wrappedKey, kek: kek)
    }

    private static func run(encrypting: Bool, _ input: [UInt8], kek: [UInt8]) throws -> [UInt8] {
        let cipher: OpaquePointer? =
            switch kek.count {
            case 16: EVP_aes_128_wrap_pad()
            case 24: EVP_aes_192_wrap_pad()
            case 32: EVP_aes_256_wrap_pad()
            default: nil
            }
        guard let cipher else { throw CryptoFailure.invalidKey("an AES key must be 16, 24 or 32 bytes") }
        guard let context = EVP_CIPHER_CTX_new() else { throw openSSLFailure("key wrap") }
        defer { EVP_CIPHER_CTX_free(context) }
        EVP_CIPHER_CTX_set_flags(context, Int32(EVP_CIPHER_CTX_FLAG_WRAP_ALLOW))
        guard EVP_CipherInit_ex2(context, cipher, kek, nil, encrypting ? 1 : 0, nil) == 1 else {
            throw openSSLFailure("key wrap")
        }
        // Wrapping adds at most 7 bytes of padding and the 8-byte integrity block.
        var output = [UInt8](repeating: 0, count: input.count + 16)
        var length: Int32 = 0
        var finalLength: Int32 = 0
        let succeeded = output.withUnsafeMutableBufferPointer { buffer -> Bool in
            guard let base = buffer.baseAddress,
                EVP_CipherUpdate(context, base, &length, input, Int32(input.count)) == 1, length >= 0
            else { return false }
            return EVP_CipherFinal_ex(context, base + Int(length), &finalLength) == 1
        }
        guard succeeded else {
            if encrypting { throw openSSLFailure("key wrap") }
            ERR_clear_error()
            throw CryptoFailure.authenticationFailed
        }
        output.removeSubrange(Int(length + finalLength)...)
        return output
    }
}
