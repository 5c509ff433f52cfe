import CPKCS11
import CoffreCrypto

extension CurveName {
    /// `CKA_EC_PARAMS`: the DER of the curve's named-curve object identifier.
    var ecParameters: [UInt8] {
        switch self {
        case .p256: [0x06, 0x08, 0x2A, 0x86, 0x48, 0xCE, 0x3D, 0x03, 0x01, 0x07] // 1.2.840.10045.3.1.7
        case .p256k: [0x06, 0x05, 0x2B, 0x81, 0x04, 0x00, 0x0A] // 1.3.132.0.10
        case .p384: [0x06, 0x05, 0x2B, 0x81, 0x04, 0x00, 0x22] // 1.3.132.0.34
        case .p521: [0x06, 0x05, 0x2B, 0x81, 0x04, 0x00, 0x23] // 1.3.132.0.35
        }
    }

    init?(ecParameters: [UInt8]) {
        guard let curve = Self.allCases.first(where: { $0.ecParameters == ecParameters }) else { return nil }
        self = curve
    }
}

extension HashKind {
    /// The DER `DigestInfo` before the digest, for `CKM_RSA_PKCS` signatures (RFC 8017 §9.2, note 1).
    var digestInfoPrefix: [UInt8] {
        switch self {
        case .sha1: [0x30, 0x21, 0x30, 0x09, 0x06, 0x05, 0x2B, 0x0E, 0x03, 0x02, 0x1A, 0x05, 0x00, 0x04, 0x14]
        case .sha256: [0x30, 0x31, 0x30, 0x0D, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01, 0x05, 0x00, 0x04, 0x20]
        case .sha384: [0x30, 0x41, 0x30, 0x0D, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x02, 0x05, 0x00, 0x04, 0x30]
        case .sha512: [0x30, 0x51, 0x30, 0x0D, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x03, 0x05, 0x00, 0x04, 0x40]
        }
    }

    /// The hash mechanism and the MGF1 of the same hash, for OAEP and PSS parameters.
    var mechanisms: (hash: CK_MECHANISM_TYPE, mgf: CK_RSA_PKCS_MGF_TYPE) {
        switch self {
        case .sha1: (CKM_SHA_1, CKG_MGF1_SHA1)
        case .sha256: (CKM_SHA256, CKG_MGF1_SHA256)
        case .sha384: (CKM_SHA384, CKG_MGF1_SHA384)
        case .sha512: (CKM_SHA512, CKG_MGF1_SHA512)
        }
    }
}

/// `CKA_EC_POINT` as modules give it: the DER of an OCTET STRING holding the SEC 1 point (PKCS#11 2.40), or, from some
/// modules, the bare point.
enum ECPointAttribute {
    static func sec1Point(_ value: [UInt8], curve: CurveName) -> [UInt8] {
        let bare = 1 + 2 * curve.coordinateByteCount
        if value.count == bare, value.first == 0x04 { return value }
        guard value.count > 2, value[0] == 0x04 else { return value }
        // Short form (one length byte) or long form 0x81 n (P-521's 133 bytes).
        let headerLength = value[1] == 0x81 ? 3 : 2
        return Array(value.dropFirst(headerLength))
    }
}
