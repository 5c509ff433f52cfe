/// RFC 5649 (AES key wrap with padding) over an AES block function: what a token's AES key computes with `CKM_AES_ECB`
/// where the module's own `CKM_AES_KEY_WRAP_PAD` is not RFC 5649 (SoftHSM2 2.6 zero-pads the input to a multiple of 8
/// bytes before wrapping, so its result and what it unwraps differ from the RFC's for other lengths). The key stays in
/// the module; only the wrapping's chaining (RFC 3394 §2.2) runs here.
enum KeyWrapWithPadding {
    /// Transforms one 16-byte block in place (AES-ECB encryption or decryption with the key).
    typealias Block = (inout [UInt8]) throws -> Void

    private static let alternativeIV: [UInt8] = [0xA6, 0x59, 0x59, 0xA6]

    static func wrap(_ plaintext: [UInt8], encrypt: Block) throws -> [UInt8] {
        let length = plaintext.count
        let iv = alternativeIV + withUnsafeBytes(of: UInt32(length).bigEndian, Array.init)
        let padded = plaintext + [UInt8](repeating: 0, count: (8 - length % 8) % 8)
        if padded.count == 8 {
            var block = iv + padded
            try encrypt(&block)
            return block
        }
        var a = iv
        var r = stride(from: 0, to: padded.count, by: 8).map { Array(padded[$0..<$0 + 8]) }
        let n = r.count
        for j in 0..<6 {
            for i in 0..<n {
                var block = a + r[i]
                try encrypt(&block)
                a = xor(Array(block[0..<8]), UInt64(n * j + i + 1))
                r[i] = Array(block[8..<16])
            }
        }
        return a + r.flatMap { $0 }
    }

    /// The plaintext, or `nil` when the integrity check fails.
    static func unwrap(_ wrapped: [UInt8], decrypt: Block) throws -> [UInt8]? {
        guard wrapped.count >= 16, wrapped.count.isMultiple(of: 8) else { return nil }
        var a: [UInt8]
        var r: [[UInt8]]
        if wrapped.count == 16 {
            var block = wrapped
            try decrypt(&block)
            a = Array(block[0..<8])
            r = [Array(block[8..<16])]
        } else {
            a = Array(wrapped[0..<8])
            r = stride(from: 8, to: wrapped.count, by: 8).map { Array(wrapped[$0..<$0 + 8]) }
            let n = r.count
            for j in (0..<6).reversed() {
                for i in (0..<n).reversed() {
                    var block = xor(a, UInt64(n * j + i + 1)) + r[i]
                    try decrypt(&block)
                    a = Array(block[0..<8])
                    r[i] = Array(block[8..<16])
                }
            }
        }
        let padded = r.flatMap { $0 }
        let length = a[4..<8].reduce(0) { $0 << 8 | Int($1) }
        guard Array(a[0..<4]) == alternativeIV, length > padded.count - 8, length <= padded.count,
            padded[length...].allSatisfy({ $0 == 0 })
        else { return nil }
        return Array(padded[..<length])
    }

    /// `value` XOR the big-endian bytes of `t`.
    private static func xor(_ value: [UInt8], _ t: UInt64) -> [UInt8] {
        zip(value, withUnsafeBytes(of: t.bigEndian, Array.init)).map { $0 ^ $1 }
    }
}
