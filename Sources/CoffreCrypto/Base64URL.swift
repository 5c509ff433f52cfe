/// Base64 and base64url coding on bytes (Foundation's string APIs are slow on Linux; this is on the hot path). The
/// generic entry points hand contiguous bytes to concrete loops: across modules, a generic loop runs unspecialised,
/// through witness tables per byte.
public enum Base64 {
    private static let standardAlphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)
    private static let urlAlphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_".utf8)
    private static let decodeTable: [UInt8] = {
        var table = [UInt8](repeating: 0xff, count: 256)
        for (index, byte) in standardAlphabet.enumerated() { table[Int(byte)] = UInt8(index) }
        table[Int(UInt8(ascii: "-"))] = 62
        table[Int(UInt8(ascii: "_"))] = 63
        return table
    }()

    /// base64url without padding (JWK fields, crypto values, backup blobs).
    public static func urlEncoded(_ bytes: some Collection<UInt8>) -> String {
        contiguous(bytes) { encode($0, alphabet: urlAlphabet, pad: false) }
    }

    /// Standard base64 with padding (`cer`, `csr`, `x5c`).
    public static func standardEncoded(_ bytes: some Collection<UInt8>) -> String {
        contiguous(bytes) { encode($0, alphabet: standardAlphabet, pad: true) }
    }

    /// Decodes either alphabet, with or without padding; `nil` on any other character.
    public static func decode(_ text: some StringProtocol) -> [UInt8]? {
        contiguous(text.utf8) { decode(utf8: $0) }
    }

    private static func contiguous<R>(_ bytes: some Collection<UInt8>, _ body: (UnsafeBufferPointer<UInt8>) -> R) -> R {
        if let result = bytes.withContiguousStorageIfAvailable(body) { return result }
        return Array(bytes).withUnsafeBufferPointer(body)
    }

    private static func decode(utf8 text: UnsafeBufferPointer<UInt8>) -> [UInt8]? {
        var output = [UInt8]()
        output.reserveCapacity(text.count * 3 / 4)
        var accumulator: UInt32 = 0
        var bits = 0
        var padding = 0
        for byte in text {
            if byte == UInt8(ascii: "=") {
                padding += 1
                continue
            }
            guard padding == 0 else { return nil }
            let value = decodeTable[Int(byte)]
            guard value != 0xff else { return nil }
            accumulator = (accumulator << 6) | UInt32(value)
            bits += 6
            if bits >= 8 {
                bits -= 8
                output.append(UInt8((accumulator >> UInt32(bits)) & 0xff))
            }
        }
        guard bits < 6, padding <= 2 else { return nil }
        return output
    }

    private static func encode(_ bytes: UnsafeBufferPointer<UInt8>, alphabet: [UInt8], pad: Bool) -> String {
        var output = [UInt8]()
        output.reserveCapacity((bytes.count + 2) / 3 * 4)
        var iterator = bytes.makeIterator()
        while let first = iterator.next() {
            let second = iterator.next()
            let third = iterator.next()
            let chunk = UInt32(first) << 16 | UInt32(second ?? 0) << 8 | UInt32(third ?? 0)
            output.append(alphabet[Int((chunk >> 18) & 63)])
            output.append(alphabet[Int((chunk >> 12) & 63)])
            if second != nil {
                output.append(alphabet[Int((chunk >> 6) & 63)])
            } else if pad {
                output.append(UInt8(ascii: "="))
            }
            if third != nil {
                output.append(alphabet[Int(chunk & 63)])
            } else if pad {
                output.append(UInt8(ascii: "="))
            }
        }
        return String(decoding: output, as: UTF8.self)
    }
}
