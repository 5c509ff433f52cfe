import CPKCS11
import Glibc

/// A PKCS#11 attribute template (`CK_ATTRIBUTE[]`), built from Swift values and laid out in one buffer for the call.
struct AttributeTemplate: ExpressibleByArrayLiteral {
    enum Value {
        case bool(Bool)
        case ulong(CK_ULONG)
        case bytes([UInt8])
    }

    var entries: [(CK_ATTRIBUTE_TYPE, Value)]

    init(arrayLiteral elements: (CK_ATTRIBUTE_TYPE, Value)...) {
        entries = elements
    }

    mutating func append(_ type: CK_ATTRIBUTE_TYPE, _ value: Value) {
        entries.append((type, value))
    }

    static func + (lhs: AttributeTemplate, rhs: AttributeTemplate) -> AttributeTemplate {
        var sum = lhs
        sum.entries += rhs.entries
        return sum
    }

    /// Calls `body` with the attributes and their count. The values' buffer is zeroed before it is freed: templates
    /// carry private key components when a key is imported.
    func withAttributes<T>(_ body: (UnsafeMutablePointer<CK_ATTRIBUTE>?, CK_ULONG) throws -> T) rethrows -> T {
        let sizes = entries.map { entry -> Int in
            switch entry.1 {
            case .bool: MemoryLayout<CK_BBOOL>.size
            case .ulong: MemoryLayout<CK_ULONG>.size
            case .bytes(let bytes): bytes.count
            }
        }
        // Each value starts at a multiple of 8 bytes, so a CK_ULONG is always aligned.
        let strides = sizes.map { ($0 + 7) & ~7 }
        let total = strides.reduce(0, +)
        let values = UnsafeMutableRawBufferPointer.allocate(byteCount: max(total, 1), alignment: MemoryLayout<CK_ULONG>.alignment)
        let attributes = UnsafeMutablePointer<CK_ATTRIBUTE>.allocate(capacity: max(entries.count, 1))
        defer {
            explicit_bzero(values.baseAddress!, values.count)
            values.deallocate()
            attributes.deallocate()
        }
        var offset = 0
        for (index, entry) in entries.enumerated() {
            let pointer = values.baseAddress! + offset
            switch entry.1 {
            case .bool(let value): pointer.storeBytes(of: CK_BBOOL(value ? CK_TRUE : CK_FALSE), as: CK_BBOOL.self)
            case .ulong(let value): pointer.storeBytes(of: value, as: CK_ULONG.self)
            case .bytes(let bytes):
                bytes.withUnsafeBytes { source in
                    if let base = source.baseAddress { pointer.copyMemory(from: base, byteCount: source.count) }
                }
            }
            (attributes + index).initialize(to: CK_ATTRIBUTE(type: entry.0, pValue: pointer, ulValueLen: CK_ULONG(sizes[index])))
            offset += strides[index]
        }
        return try body(attributes, CK_ULONG(entries.count))
    }
}

/// A PKCS#11 mechanism with its parameters, handed to a call as a `CK_MECHANISM` that lives as long as the call.
enum Mechanism {
    /// A mechanism without parameters.
    case plain(CK_MECHANISM_TYPE)
    /// `CKM_RSA_PKCS_OAEP` with a hash, MGF1 of the same hash and an empty label.
    case rsaOAEP(hash: CK_MECHANISM_TYPE, mgf: CK_RSA_PKCS_MGF_TYPE)
    /// `CKM_RSA_PKCS_PSS` on a digest, with MGF1 of the same hash and a salt as long as the digest.
    case rsaPSS(hash: CK_MECHANISM_TYPE, mgf: CK_RSA_PKCS_MGF_TYPE, saltLength: Int)
    /// `CKM_ECDH1_DERIVE` with no key derivation function: the shared secret is the x-coordinate of d·Q.
    case ecdh(publicPoint: [UInt8])
    /// `CKM_AES_GCM` with a 128-bit tag (the ciphertext carries it at its end).
    case aesGCM(iv: [UInt8], additionalData: [UInt8])
    /// A mechanism whose parameter is an IV (`CKM_AES_CBC`, `CKM_AES_CBC_PAD`).
    case withIV(CK_MECHANISM_TYPE, iv: [UInt8])

    func withMechanism<T>(_ body: (UnsafeMutablePointer<CK_MECHANISM>) throws -> T) rethrows -> T {
        switch self {
        case .plain(let type):
            var mechanism = CK_MECHANISM(mechanism: type, pParameter: nil, ulParameterLen: 0)
            return try body(&mechanism)
        case .rsaOAEP(let hash, let mgf):
            var parameters = CK_RSA_PKCS_OAEP_PARAMS(
                hashAlg: hash, mgf: mgf, source: CKZ_DATA_SPECIFIED, pSourceData: nil, ulSourceDataLen: 0)
            return try Self.with(CKM_RSA_PKCS_OAEP, &parameters, body)
        case .rsaPSS(let hash, let mgf, let saltLength):
            var parameters = CK_RSA_PKCS_PSS_PARAMS(hashAlg: hash, mgf: mgf, sLen: CK_ULONG(saltLength))
            return try Self.with(CKM_RSA_PKCS_PSS, &parameters, body)
        case .ecdh(let point):
            var point = point
            return try point.withUnsafeMutableBufferPointer { buffer in
                var parameters = CK_ECDH1_DERIVE_PARAMS(
                    kdf: CKD_NULL, ulSharedDataLen: 0, pSharedData: nil, ulPublicDataLen: CK_ULONG(buffer.count),
                    pPublicData: buffer.baseAddress)
                return try Self.with(CKM_ECDH1_DERIVE, &parameters, body)
            }
        case .aesGCM(let iv, let additionalData):
            var iv = iv
            var additionalData = additionalData
            return try iv.withUnsafeMutableBufferPointer { iv in
                try additionalData.withUnsafeMutableBufferPointer { additionalData in
                    var parameters = CK_GCM_PARAMS(
                        pIv: iv.baseAddress, ulIvLen: CK_ULONG(iv.count), ulIvBits: CK_ULONG(iv.count * 8),
                        pAAD: additionalData.baseAddress, ulAADLen: CK_ULONG(additionalData.count), ulTagBits: 128)
                    return try Self.with(CKM_AES_GCM, &parameters, body)
                }
            }
        case .withIV(let type, let iv):
            var iv = iv
            return try iv.withUnsafeMutableBytes { bytes in
                var mechanism = CK_MECHANISM(mechanism: type, pParameter: bytes.baseAddress, ulParameterLen: CK_ULONG(bytes.count))
                return try body(&mechanism)
            }
        }
    }

    private static func with<P, T>(
        _ type: CK_MECHANISM_TYPE, _ parameters: inout P, _ body: (UnsafeMutablePointer<CK_MECHANISM>) throws -> T
    ) rethrows -> T {
        try withUnsafeMutableBytes(of: &parameters) { bytes in
            var mechanism = CK_MECHANISM(mechanism: type, pParameter: bytes.baseAddress, ulParameterLen: CK_ULONG(bytes.count))
            return try body(&mechanism)
        }
    }
}
