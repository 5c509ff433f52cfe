/// Percent-encoding of URL parts: every byte of the UTF-8 form but the unreserved `A-Z a-z 0-9 - _ . ~` (and `/`
/// where kept) is written `%XX`, as Python's `urllib.parse.quote` writes it (Azure SDKs write SAS tokens so).
public enum PercentEncoding {
    public static func encode(_ text: String, keepingSlash: Bool) -> String {
        var output = ""
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
                UInt8(ascii: "-"), UInt8(ascii: "_"), UInt8(ascii: "."), UInt8(ascii: "~"):
                output.unicodeScalars.append(Unicode.Scalar(byte))
            case UInt8(ascii: "/") where keepingSlash:
                output += "/"
            default:
                output += "%" + String(byte >> 4, radix: 16, uppercase: true) + String(byte & 0xF, radix: 16, uppercase: true)
            }
        }
        return output
    }

    /// The decoded text, `+` read as a space where asked (forms, query strings); `nil` when an escape is malformed or the
    /// bytes are not UTF-8.
    public static func decode(_ text: some StringProtocol, plusIsSpace: Bool) -> String? {
        guard needsDecoding(text, plusIsSpace: plusIsSpace) else { return String(text) }
        return decodedBytes(Array(text.utf8), plusIsSpace: plusIsSpace, strict: true).flatMap { String(validating: $0, as: UTF8.self) }
    }

    /// As `decode`, but a malformed escape stays as written and bytes that are not UTF-8 become U+FFFD (what anyone sends).
    public static func decodeLeniently(_ text: some StringProtocol, plusIsSpace: Bool) -> String {
        guard needsDecoding(text, plusIsSpace: plusIsSpace) else { return String(text) }
        return String(decoding: decodedBytes(Array(text.utf8), plusIsSpace: plusIsSpace, strict: false) ?? [], as: UTF8.self)
    }

    private static func needsDecoding(_ text: some StringProtocol, plusIsSpace: Bool) -> Bool {
        text.utf8.contains { $0 == UInt8(ascii: "%") || (plusIsSpace && $0 == UInt8(ascii: "+")) }
    }

    /// `nil` on a malformed escape when `strict`.
    private static func decodedBytes(_ utf8: [UInt8], plusIsSpace: Bool, strict: Bool) -> [UInt8]? {
        var output: [UInt8] = []
        output.reserveCapacity(utf8.count)
        var index = 0
        while index < utf8.count {
            let byte = utf8[index]
            if byte == UInt8(ascii: "%") {
                if index + 2 < utf8.count, let high = hexValue(utf8[index + 1]), let low = hexValue(utf8[index + 2]) {
                    output.append(high << 4 | low)
                    index += 3
                    continue
                }
                if strict { return nil }
            }
            output.append(plusIsSpace && byte == UInt8(ascii: "+") ? UInt8(ascii: " ") : byte)
            index += 1
        }
        return output
    }

    private static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): byte - UInt8(ascii: "A") + 10
        default: nil
        }
    }
}
