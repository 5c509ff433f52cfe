/// The date formats of Azure Storage, on whole seconds since 1970 in UTC (Coffre's `WallClock` time), written and read
/// without a locale: RFC 1123 in headers (`Mon, 07 Dec 2026 15:15:39 GMT`) and ISO 8601 in SAS fields and listings.
enum StorageDate {
    private static let weekdays = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"]
    private static let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]

    /// `Mon, 07 Dec 2026 15:15:39 GMT`.
    static func rfc1123(_ seconds: Int64) -> String {
        let (days, time) = seconds.floorDivided(by: 86_400)
        let (year, month, day) = civil(fromDays: days)
        let weekday = weekdays[Int(days.floorDivided(by: 7).remainder)]
        return "\(weekday), \(two(day)) \(months[month - 1]) \(year) \(two(Int(time / 3600))):\(two(Int(time / 60 % 60))):\(two(Int(time % 60))) GMT"
    }

    /// Parses `Mon, 07 Dec 2026 15:15:39 GMT` (the weekday is not checked, as HTTP servers do not).
    static func parseRFC1123(_ text: String) -> Int64? {
        let parts = text.split(separator: " ")
        guard parts.count == 6, parts[5] == "GMT", let day = Int(parts[1]), let monthIndex = months.firstIndex(of: String(parts[2])),
            let year = Int(parts[3])
        else { return nil }
        let clock = parts[4].split(separator: ":")
        guard clock.count == 3, let hour = Int(clock[0]), let minute = Int(clock[1]), let second = Int(clock[2]) else { return nil }
        return seconds(year: year, month: monthIndex + 1, day: day, hour: hour, minute: minute, second: second)
    }

    /// `2026-01-01T00:00:00Z` (what `azure-storage-blob` writes for SAS times).
    static func iso8601(_ seconds: Int64) -> String {
        let (days, time) = seconds.floorDivided(by: 86_400)
        let (year, month, day) = civil(fromDays: days)
        return "\(four(year))-\(two(month))-\(two(day))T\(two(Int(time / 3600))):\(two(Int(time / 60 % 60))):\(two(Int(time % 60)))Z"
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
        if bytes.count == 10 { return seconds(year: year, month: month, day: day, hour: 0, minute: 0, second: 0) }
        guard bytes.count >= 17, bytes[10] == UInt8(ascii: "T"), bytes[13] == UInt8(ascii: ":"), bytes.last == UInt8(ascii: "Z"),
            let hour = number(11..<13), let minute = number(14..<16)
        else { return nil }
        if bytes.count == 17 { return seconds(year: year, month: month, day: day, hour: hour, minute: minute, second: 0) }
        guard bytes.count >= 20, bytes[16] == UInt8(ascii: ":"), let second = number(17..<19) else { return nil }
        if bytes.count > 20 {
            guard bytes[19] == UInt8(ascii: "."), bytes.count > 21, number(20..<(bytes.count - 1)) != nil else { return nil }
        }
        return seconds(year: year, month: month, day: day, hour: hour, minute: minute, second: second)
    }

    private static func seconds(year: Int, month: Int, day: Int, hour: Int, minute: Int, second: Int) -> Int64? {
        guard (1...12).contains(month), (1...daysIn(month: month, year: year)).contains(day), (0...23).contains(hour), (0...59).contains(minute),
            (0...59).contains(second)
        else { return nil }
        return days(fromYear: year, month: month, day: day) * 86_400 + Int64(hour * 3600 + minute * 60 + second)
    }

    private static func daysIn(month: Int, year: Int) -> Int {
        switch month {
        case 2: year % 4 == 0 && (year % 100 != 0 || year % 400 == 0) ? 29 : 28
        case 4, 6, 9, 11: 30
        default: 31
        }
    }

    /// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's `days_from_civil`).
    private static func days(fromYear year: Int, month: Int, day: Int) -> Int64 {
        let y = Int64(month <= 2 ? year - 1 : year)
        let era = (y >= 0 ? y : y - 399) / 400
        let yearOfEra = y - era * 400
        let dayOfYear = Int64((153 * (month > 2 ? month - 3 : month + 9) + 2) / 5 + day - 1)
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        return era * 146_097 + dayOfEra - 719_468
    }

    /// The date of a day number (`civil_from_days`).
    private static func civil(fromDays days: Int64) -> (year: Int, month: Int, day: Int) {
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let dayOfEra = z - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36_524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let monthIndex = (5 * dayOfYear + 2) / 153
        let day = Int(dayOfYear - (153 * monthIndex + 2) / 5 + 1)
        let month = Int(monthIndex < 10 ? monthIndex + 3 : monthIndex - 9)
        return (Int(yearOfEra + era * 400) + (month <= 2 ? 1 : 0), month, day)
    }

    private static func two(_ value: Int) -> String { value < 10 ? "0\(value)" : "\(value)" }

    private static func four(_ value: Int) -> String { String(repeating: "0", count: max(0, 4 - String(value).count)) + String(value) }
}

extension Int64 {
    /// Quotient and remainder rounded towards minus infinity (dates before 1970 stay well-formed).
    fileprivate func floorDivided(by divisor: Int64) -> (quotient: Int64, remainder: Int64) {
        let remainder = ((self % divisor) + divisor) % divisor
        return ((self - remainder) / divisor, remainder)
    }
}
