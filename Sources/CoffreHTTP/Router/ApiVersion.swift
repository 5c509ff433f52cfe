import CoffreModel

/// The `api-version` query parameter, checked once for the groups that require it.
enum ApiVersion {
    /// Every api-version a client sends is accepted (`2016-10-01`, `7.0`…`7.6`, `2025-07-01`, previews); a missing or
    /// malformed one is a 400, as the service answers.
    static func check(_ version: String?) throws {
        guard let version, !version.isEmpty else {
            throw CoffreError.badParameter("The api-version query parameter is required for all requests.")
        }
        guard isApiVersion(Array(version.utf8)) else {
            throw CoffreError.badParameter("The specified version (\(version)) is not recognized.")
        }
    }

    /// `YYYY-MM-DD` or `N.N`, optionally followed by `-preview` and `.N` (checked on bytes: this runs per request).
    static func isApiVersion(_ bytes: [UInt8]) -> Bool {
        let suffix = Array("-preview".utf8)
        var base = bytes[...]
        if let start = (0...max(0, bytes.count - suffix.count)).first(where: { bytes[$0...].starts(with: suffix) }), bytes.count >= suffix.count {
            base = bytes[..<start]
            let rest = bytes[(start + suffix.count)...]
            guard rest.isEmpty || (rest.first == UInt8(ascii: ".") && rest.count > 1 && rest.dropFirst().allSatisfy(isDigit)) else { return false }
        }
        let dated =
            base.count == 10
            && base.enumerated().allSatisfy { index, byte in
                index == 4 || index == 7 ? byte == UInt8(ascii: "-") : isDigit(byte)
            }
        let dots = base.filter { $0 == UInt8(ascii: ".") }.count
        let numbered =
            dots == 1 && base.first != UInt8(ascii: ".") && base.last != UInt8(ascii: ".")
            && base.allSatisfy { isDigit($0) || $0 == UInt8(ascii: ".") }
        return dated || numbered
    }

    static func isDigit(_ byte: UInt8) -> Bool { (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) }
}
