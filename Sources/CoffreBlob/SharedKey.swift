/// Azure Storage's Shared Key scheme (`Authorization: SharedKey {account}:{signature}`), for `x-ms-version` 2009-09-19
/// and later: the signature is HMAC-SHA256, under the account key, of
///
///     VERB \n Content-Encoding \n Content-Language \n Content-Length \n Content-MD5 \n Content-Type \n Date \n
///     If-Modified-Since \n If-Match \n If-None-Match \n If-Unmodified-Since \n Range \n
///     CanonicalizedHeaders CanonicalizedResource
///
/// where Content-Length is empty when it is 0 (from version 2015-02-21), CanonicalizedHeaders are the `x-ms-*` headers
/// (lower-cased names in the service's order, `name:value\n`), and CanonicalizedResource is `/{account}{path as sent}`
/// followed by `\n{name}:{values}` for each query parameter (lower-cased names in order; a repeated name's decoded values
/// sorted and joined by commas).
enum SharedKey {
    static let standardHeaders = [
        "content-encoding", "content-language", "content-length", "content-md5", "content-type", "date", "if-modified-since", "if-match",
        "if-none-match", "if-unmodified-since", "range",
    ]

    static func stringToSign(
        method: String, headers: BlobHeaders, account: String, path: String, query: QueryParameters, version: String
    ) -> String {
        let merged = headers.merged
        func value(_ name: String) -> String { merged.first { $0.name == name }?.value ?? "" }
        var lines = [method.uppercased()]
        for name in standardHeaders {
            let header = value(name)
            lines.append(name == "content-length" && header == "0" && version >= "2015-02-21" ? "" : header)
        }
        var text = lines.joined(separator: "\n") + "\n"
        for (name, value) in merged.filter({ $0.name.hasPrefix("x-ms-") }).sorted(by: { serviceOrder($0.name, $1.name) < 0 }) {
            text += "\(name):\(value)\n"
        }
        text += "/\(account)\(path.isEmpty ? "/" : path)"
        var parameters: [String: [String]] = [:]
        for (name, value) in query.pairs { parameters[name.lowercased(), default: []].append(value) }
        for name in parameters.keys.sorted() { text += "\n\(name):" + parameters[name]!.sorted().joined(separator: ",") }
        return text
    }

    /// The order in which the service sorts canonicalized header names (a culture-aware comparison, as the official
    /// clients reproduce it): first by primary weights that ignore `-` and `'` and fold case, then, on a tie, by where
    /// those ignored characters stand. Negative when `lhs` sorts first.
    static func serviceOrder(_ lhs: String, _ rhs: String) -> Int {
        let left = Array(lhs.utf8)
        let right = Array(rhs.utf8)
        let end: UInt16 = 1
        var level = 0
        var i = 0
        var j = 0
        while level < 2 {
            if level == 1 && i != j { return i > j ? -1 : 1 }
            let w1 = i < left.count ? weight(left[i], level: level) : end
            let w2 = j < right.count ? weight(right[j], level: level) : end
            if w1 == end && w2 == end {
                (i, j, level) = (0, 0, level + 1)
            } else if w1 == w2 {
                (i, j) = (i + 1, j + 1)
            } else if w1 == 0 {
                i += 1
            } else if w2 == 0 {
                j += 1
            } else {
                return w1 < w2 ? -1 : 1
            }
        }
        return 0
    }

    private static let letterWeights: [UInt16] = [
        0xE02, 0xE09, 0xE0A, 0xE1A, 0xE21, 0xE23, 0xE25, 0xE2C, 0xE32, 0xE35, 0xE36, 0xE48, 0xE51, 0xE70, 0xE7C, 0xE7E, 0xE89, 0xE8A,
        0xE91, 0xE99, 0xE9F, 0xEA2, 0xEA4, 0xEA6, 0xEA7, 0xEA9,
    ]
    private static let digitWeights: [UInt16] = [0xD03, 0xD1A, 0xD1C, 0xD1E, 0xD20, 0xD22, 0xD24, 0xD26, 0xD28, 0xD2A]

    /// A character's weight at a level: 0 when the level ignores it.
    private static func weight(_ byte: UInt8, level: Int) -> UInt16 {
        if level == 1 {
            return byte == UInt8(ascii: "'") ? 0x8012 : byte == UInt8(ascii: "-") ? 0x8212 : 0
        }
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"): return letterWeights[Int(byte - UInt8(ascii: "a"))]
        case UInt8(ascii: "A")...UInt8(ascii: "Z"): return letterWeights[Int(byte - UInt8(ascii: "A"))]
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return digitWeights[Int(byte - UInt8(ascii: "0"))]
        case UInt8(ascii: "!"): return 0x71C
        case UInt8(ascii: "#"): return 0x71F
        case UInt8(ascii: "$"): return 0x721
        case UInt8(ascii: "%"): return 0x723
        case UInt8(ascii: "&"): return 0x725
        case UInt8(ascii: "*"): return 0x72D
        case UInt8(ascii: "+"): return 0x803
        case UInt8(ascii: "."): return 0x733
        case UInt8(ascii: "^"): return 0x743
        case UInt8(ascii: "_"): return 0x744
        case UInt8(ascii: "`"): return 0x748
        case UInt8(ascii: "|"): return 0x74C
        case UInt8(ascii: "~"): return 0x750
        default: return 0
        }
    }
}
