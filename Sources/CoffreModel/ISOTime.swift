import Foundation

/// ISO 8601 times as people write them in commands and files (`2030-01-01T00:00:00Z`, `2030-01-01`), to and from
/// seconds since 1970; not for hot paths.
public enum ISOTime {
    /// `2030-01-01T00:00:00Z`.
    public static func format(_ seconds: Int64) -> String {
        ISO8601DateFormatter().string(from: Date(timeIntervalSince1970: TimeInterval(seconds)))
    }

    /// A date-time with a zone (`Z`, `+02:00`), a date (midnight UTC), or whole seconds since 1970.
    public static func parse(_ text: String) -> Int64? {
        if let seconds = Int64(text) { return seconds }
        let forms: [ISO8601DateFormatter.Options] = [
            [.withInternetDateTime], [.withInternetDateTime, .withFractionalSeconds], [.withFullDate],
        ]
        for options in forms {
            let formatter = ISO8601DateFormatter()
            formatter.formatOptions = options
            if let date = formatter.date(from: text) { return Int64(date.timeIntervalSince1970.rounded(.down)) }
        }
        return nil
    }
}
