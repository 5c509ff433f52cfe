import COpenSSL

/// The one conversion between the two forms of an ECDSA signature: JOSE's fixed-width `R ‖ S` (Key Vault's wire form,
/// what the engine signs) and DER `ECDSA-Sig-Value ::= SEQUENCE { r INTEGER, s INTEGER }` (X.509, OpenSSL, PKCS#11
/// tokens that answer DER).
public enum ECDSASignatureEncoding {
    /// `R ‖ S`, each half `width` bytes (the curve's coordinate length).
    public static func raw(fromDER der: [UInt8], coordinateByteCount width: Int) throws -> [UInt8] {
        let signature = der.withUnsafeBufferPointer { buffer -> OpaquePointer? in
            var cursor = buffer.baseAddress
            return d2i_ECDSA_SIG(nil, &cursor, buffer.count)
        }
        guard let signature else { throw openSSLFailure("reading an ECDSA signature") }
        defer { ECDSA_SIG_free(signature) }
        var raw = [UInt8](repeating: 0, count: 2 * width)
        let written = raw.withUnsafeMutableBufferPointer { buffer -> Bool in
            guard let base = buffer.baseAddress else { return false }
            return Int(BN_bn2binpad(ECDSA_SIG_get0_r(signature), base, Int32(width))) == width
                && Int(BN_bn2binpad(ECDSA_SIG_get0_s(signature), base + width, Int32(width))) == width
        }
        guard written else { throw openSSLFailure("reading an ECDSA signature") }
        return raw
    }

    /// The DER form; `nil` when `raw` is not two halves of `width` bytes.
    public static func der(fromRaw raw: [UInt8], coordinateByteCount width: Int) -> [UInt8]? {
        guard raw.count == 2 * width, let signature = ECDSA_SIG_new() else { return nil }
        defer { ECDSA_SIG_free(signature) }
        let r = BN_bin2bn(raw, Int32(width), nil)
        let s = raw.withUnsafeBufferPointer { BN_bin2bn($0.baseAddress.map { $0 + width }, Int32(width), nil) }
        // On success ECDSA_SIG_set0 takes ownership of both numbers; otherwise they are still ours.
        guard let r, let s, ECDSA_SIG_set0(signature, r, s) == 1 else {
            BN_free(r)
            BN_free(s)
            ERR_clear_error()
            return nil
        }
        let length = i2d_ECDSA_SIG(signature, nil)
        guard length > 0 else { return nil }
        var der = [UInt8](repeating: 0, count: Int(length))
        let written = der.withUnsafeMutableBufferPointer { buffer -> Int32 in
            var cursor = buffer.baseAddress
            return i2d_ECDSA_SIG(signature, &cursor)
        }
        return written == length ? der : nil
    }
}
