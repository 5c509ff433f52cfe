import Foundation
import Synchronization

/// Wall-clock time in whole seconds since 1970 (Key Vault's `IntDate`), injected so tests control time.
public protocol WallClock: Sendable {
    var now: Int64 { get }
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
