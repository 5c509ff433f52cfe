import CoffreCrypto

/// EME-OAEP decoding (RFC 8017 §7.1.2) with SHA-256 and MGF1-SHA-256 and an empty label, for modules that decrypt
/// RSA-OAEP-256 only as a raw RSA operation (`CKM_RSA_X_509`: SoftHSM refuses OAEP parameters other than SHA-1).
///
/// Written in constant-time style: every byte of the encoded message is read and every check is folded into one flag
/// without an early return, so how long decoding takes does not tell which check failed (no Manger oracle); only the
/// plaintext's length, which the caller learns anyway, shapes the result.
enum OAEPDecoding {
    static let hashByteCount = 32

    /// The message in `encoded` (the raw RSA result, as long as the modulus); `nil` when it is not a valid encoding.
    static func decodeSHA256(_ encoded: [UInt8]) -> [UInt8]? {
        let k = encoded.count
        let h = hashByteCount
        guard k >= 2 * h + 2 else { return nil }
        let maskedSeed = encoded[1...h]
        let maskedDB = encoded[(h + 1)...]
        let seedMask = mgf1(Array(maskedDB), length: h)
        let seed = zip(maskedSeed, seedMask).map { $0 ^ $1 }
        let dbMask = mgf1(seed, length: k - h - 1)
        let db = zip(maskedDB, dbMask).map { $0 ^ $1 }

        let emptyLabelHash = Digest.sha256([UInt8]())
        var bad = encoded[0]
        for index in 0..<h { bad |= db[index] ^ emptyLabelHash[index] }

        // After the label hash: zeros, then 0x01, then the message. `found` becomes all ones at the separator.
        var found: UInt8 = 0
        var separator = 0
        for index in h..<db.count {
            let byte = db[index]
            let isOne = isZeroMask(byte ^ 0x01)
            let isZero = isZeroMask(byte)
            let firstOne = isOne & ~found
            separator |= Int(firstOne & 1) * index
            // Before the separator, anything but zero or the separator itself is bad.
            bad |= ~found & ~isZero & ~isOne
            found |= isOne
        }
        bad |= ~found
        guard bad == 0 else { return nil }
        return Array(db[(separator + 1)...])
    }

    /// 0xFF when `value` is zero, 0x00 otherwise, without a branch.
    private static func isZeroMask(_ value: UInt8) -> UInt8 {
        let wide = UInt16(value)
        return UInt8(truncatingIfNeeded: (wide &- 1) >> 8)
    }

    /// MGF1 with SHA-256.
    private static func mgf1(_ seed: [UInt8], length: Int) -> [UInt8] {
        var output: [UInt8] = []
        output.reserveCapacity(length + hashByteCount)
        var counter: UInt32 = 0
        while output.count < length {
            let counterBytes = (0..<4).map { UInt8(truncatingIfNeeded: counter >> (24 - 8 * $0)) }
            output += Digest.sha256(seed + counterBytes)
            counter += 1
        }
        return Array(output.prefix(length))
    }
}
