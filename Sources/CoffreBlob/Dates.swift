import CoffreModel

/// The date formats of Azure Storage, on whole seconds since 1970 in UTC (Coffre's `WallClock` time), written and read
/// without a locale: RFC 1123 in headers (`Mon, 07 Dec 2026 15:15:39 GMT`) and ISO 8601 in SAS fields.
enum StorageDate {
    private static let weekdays = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"]
    private static let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]

    /// `Mon, 07 Dec 2026 15:15:39 GMT`.
    static func rfc1123(_ seconds: Int64) -> String {
        let t = CivilTime(seconds: seconds)
        return "\(weekdays[t.weekday]), \(two(t.day)) \(months[t.month - 1]) \(t.year) \(two(t.hour)):\(two(t.minute)):\(two(t.second)) GMT"
    }

    /// Parses `Mon, 07 Dec 2026 15:15:39 GMT` (the weekday is not checked, as HTTP servers do not).
    static func parseRFC1123(_ text: String) -> Int64? {
        let parts = text.split(separator: " ")
        guard parts.count == 6, parts[5] == "GMT", let day = Int(parts[1]), let month = months.firstIndex(of: String(parts[2])),
            let year = Int(parts[3])
        else { return nil }
        let clock = parts[4].split(separator: ":")
        guard clock.count == 3, let hour = Int(clock[0]), let minute = Int(clock[1]), let second = Int(clock[2]) else { return nil }
        return CivilTime(year: year, month: month + 1, day: day, hour: hour, minute: minute, second: second)?.seconds
    }

    /// `2026-01-01T00:00:00Z` (what `azure-storage-blob` writes for SAS times).
    static func iso8601(_ seconds: Int64) -> String {
        let t = CivilTime(seconds: seconds)
        return String(t.year).leftPadded(4) + "-\(two(t.month))-\(two(t.day))T\(two(t.hour)):\(two(t.minute)):\(two(t.second))Z"
    }

    /// The `Time:` line of error messages, in the service's seven-digit form.
    static func errorTime(_ seconds: Int64) -> String { String(iso8601(seconds).dropLast()) + ".0000000Z" }

    /// Parses the UTC forms Azure accepts in SAS fields: `YYYY-MM-DD`, `YYYY-MM-DDThh:mmZ`, `YYYY-MM-DDThh:mm:ssZ` and
    /// `YYYY-MM-DDThh:mm:ss.fffffffZ` (fractions are dropped).
    static func parseISO8601(_ text: String) -> Int64? {
        let bytes = Array(text.utf8)
        func number(_ range: Range<Int>) -> Int? {
            guard range.upperBound <= bytes.count, bytes[range].allSatisfy({ (0x30...0x39).contains($0) }) else { return nil }
            return bytes[range].reduce(0) { $0 * 10 + Int($1 - 0x30) }
        }
        guard bytes.count >= 10, bytes[4] == UInt8(ascii: "-"), bytes[7] == UInt8(ascii: "-"), let year = number(0..<4), let month = number(5..<7),
            let day = number(8..<10)
        else { return nil }
        if bytes.count == 10 { return CivilTime(year: year, month: month, day: day)?.seconds }
        guard bytes.count >= 17, bytes[10] == UInt8(ascii: "T"), bytes[13] == UInt8(ascii: ":"), bytes.last == UInt8(ascii: "Z"),
            let hour = number(11..<13), let minute = number(14..<16)
        else { return nil }
        if bytes.count == 17 { return CivilTime(year: year, month: month, day: day, hour: hour, minute: minute)?.seconds }
        guard bytes.count >= 20, bytes[16] == UInt8(ascii: ":"), let second = number(17..<19) else { return nil }
        if bytes.count > 20 {
            guard bytes[19] == UInt8(ascii: "."), bytes.count > 21, number(20..<(bytes.count - 1)) != nil else { return nil }
        }
        return CivilTime(year: year, month: month, day: day, hour: hour, minute: minute, second: second)?.seconds
    }

    private static func two(_ value: Int) -> String { String(value).leftPadded(2) }
}
