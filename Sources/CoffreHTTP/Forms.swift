import CoffreModel

/// Query strings and `application/x-www-form-urlencoded` bodies.
enum Forms {
    /// Decodes `a=1&b=x%20y`; a repeated key keeps its last value.
    static func parse(_ text: some StringProtocol, plusIsSpace: Bool = true) -> [String: String] {
        var result: [String: String] = [:]
        for pair in Substring(text).utf8.split(separator: UInt8(ascii: "&")) {
            let equals = pair.firstIndex(of: UInt8(ascii: "=")) ?? pair.endIndex
            let key = PercentEncoding.decodeLeniently(Substring(pair[..<equals]), plusIsSpace: plusIsSpace)
            result[key] =
                equals == pair.endIndex
                ? "" : PercentEncoding.decodeLeniently(Substring(pair[pair.index(after: equals)...]), plusIsSpace: plusIsSpace)
        }
        return result
    }
}
