import Foundation
import Synchronization

/// Wall-clock time in whole seconds since 1970 (Key Vault's `IntDate`), injected so tests control time.
///
/// Time may differ per vault: in development, time travel (``TimeTravelClock``) shifts the whole server or one vault.
/// Services ask `now(in:)` wherever a vault is known; `now` is the server's time.
public protocol WallClock: Sendable {
    var now: Int64 { get }
    /// Now in one vault (or Managed HSM pool).
    func now(in vault: VaultName) -> Int64
    /// The latest time any vault is at: how far a sweep over every vault must look.
    var latest: Int64 { get }
}

extension WallClock {
    public func now(in vault: VaultName) -> Int64 { now }
    public var latest: Int64 { now }
}

/// The system's clock.
public struct SystemClock: WallClock {
    public init() {}
    public var now: Int64 { Int64(Date().timeIntervalSince1970) }
}

/// A clock that only moves when told to (tests, and time-travel in development).
public final class ManualClock: WallClock {
    private let current: Mutex<Int64>

    public init(_ start: Int64 = 1_700_000_000) { self.current = Mutex(start) }

    public var now: Int64 { current.withLock { $0 } }

    public func advance(seconds: Int64) { current.withLock { $0 += seconds } }
}

public enum Seconds {
    public static let day: Int64 = 86_400
}

/// A UTC calendar date and time of day (proleptic Gregorian), to and from seconds since 1970, by H. Hinnant's
/// `civil_from_days` and `days_from_civil`: no calendar object, no locale (dates written on hot paths and in wire formats).
public struct CivilTime: Equatable, Sendable {
    public var year: Int
    public var month: Int
    public var day: Int
    public var hour: Int
    public var minute: Int
    public var second: Int

    public init(seconds: Int64) {
        let remainder = ((seconds % 86_400) + 86_400) % 86_400
        let days = (seconds - remainder) / 86_400
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let dayOfEra = z - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36_524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let shiftedMonth = (5 * dayOfYear + 2) / 153
        month = Int(shiftedMonth < 10 ? shiftedMonth + 3 : shiftedMonth - 9)
        day = Int(dayOfYear - (153 * shiftedMonth + 2) / 5 + 1)
        year = Int(yearOfEra + era * 400) + (month <= 2 ? 1 : 0)
        hour = Int(remainder / 3600)
        minute = Int(remainder / 60 % 60)
        second = Int(remainder % 60)
    }

    /// `nil` when a field is out of its range (February 30, hour 24, a year outside 1–9999).
    public init?(year: Int, month: Int, day: Int, hour: Int = 0, minute: Int = 0, second: Int = 0) {
        guard (1...9999).contains(year), (1...12).contains(month), (1...Self.days(inMonth: month, of: year)).contains(day), (0...23).contains(hour),
            (0...59).contains(minute),
            (0...59).contains(second)
        else { return nil }
        (self.year, self.month, self.day, self.hour, self.minute, self.second) = (year, month, day, hour, minute, second)
    }

    public var seconds: Int64 {
        let y = Int64(month <= 2 ? year - 1 : year)
        let era = (y >= 0 ? y : y - 399) / 400
        let yearOfEra = y - era * 400
        let dayOfYear = Int64((153 * (month > 2 ? month - 3 : month + 9) + 2) / 5 + day - 1)
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        return (era * 146_097 + dayOfEra - 719_468) * 86_400 + Int64(hour * 3600 + minute * 60 + second)
    }

    /// `2026-12-07T16:03:31Z`.
    public var iso8601: String {
        func padded(_ value: Int, _ width: Int) -> String {
            let digits = String(value)
            return String(repeating: "0", count: max(0, width - digits.count)) + digits
        }
        return "\(padded(year, 4))-\(padded(month, 2))-\(padded(day, 2))T\(padded(hour, 2)):\(padded(minute, 2)):\(padded(second, 2))Z"
    }

    /// 0 for Sunday … 6 for Saturday.
    public var weekday: Int {
        let days = (seconds - (((seconds % 86_400) + 86_400) % 86_400)) / 86_400
        // 1970-01-01 was a Thursday.
        return Int(((days % 7) + 7 + 4) % 7)
    }

    static func days(inMonth month: Int, of year: Int) -> Int {
        switch month {
        case 2: year % 4 == 0 && (year % 100 != 0 || year % 400 == 0) ? 29 : 28
        case 4, 6, 9, 11: 30
        default: 31
        }
    }
}
