import Synchronization

/// A vault received more requests in its current window than its limit allows (429 `Throttled`, `Retry-After`).
public struct RequestLimitExceeded: Error, Sendable, Equatable, CustomStringConvertible {
    public let limit: Int
    public let window: Duration
    /// Whole seconds until the vault's window ends (at least 1).
    public let retryAfter: Int

    public var description: String {
        "Request was not processed because too many requests were received. Reason: A maximum of \(limit) requests per "
            + "\(window.components.seconds) seconds is allowed for this vault; retry after \(retryAfter) seconds."
    }
}

/// Per-vault request counting in fixed windows, as Key Vault limits requests per vault per 10 seconds: the first
/// request of a vault opens its window; within it, the first `limit` requests are admitted and the rest refused until
/// it ends. Pure: the caller gives the time.
public struct RequestWindowStateMachine: Sendable {
    public typealias Instant = ContinuousClock.Instant

    public enum Decision: Sendable, Equatable {
        case admit
        /// Refused; the window ends in `retryAfter`.
        case throttle(retryAfter: Duration)
    }

    public let limit: Int
    public let window: Duration
    private var windows: [String: (start: Instant, count: Int)] = [:]
    /// Past this many vaults tracked, ended windows are dropped (vault names come from existing vaults only).
    private let sweepThreshold = 1024

    public init(limit: Int, window: Duration) {
        precondition(limit > 0 && window > .zero)
        self.limit = limit
        self.window = window
    }

    /// The vaults whose window is tracked (ended windows may stay until a sweep).
    public var trackedVaults: Int { windows.count }

    public mutating func admit(_ vault: String, at now: Instant) -> Decision {
        if windows.count >= sweepThreshold { windows = windows.filter { now < $0.value.start + window } }
        guard let current = windows[vault], now < current.start + window else {
            windows[vault] = (now, 1)
            return .admit
        }
        guard current.count < limit else { return .throttle(retryAfter: current.start + window - now) }
        windows[vault] = (current.start, current.count + 1)
        return .admit
    }
}

/// `coffre serve --request-limit N`: at most N requests per vault per 10 seconds, the rest refused with
/// ``RequestLimitExceeded`` (the SDKs wait `Retry-After` and retry).
public final class VaultRequestLimiter: Sendable {
    private let state: Mutex<RequestWindowStateMachine>
    private let clock: ContinuousClock

    public init(limit: Int, window: Duration = .seconds(10), clock: ContinuousClock = ContinuousClock()) {
        state = Mutex(RequestWindowStateMachine(limit: limit, window: window))
        self.clock = clock
    }

    /// Counts one request to `vault`; throws when the vault's window is full.
    public func admit(_ vault: String) throws(RequestLimitExceeded) {
        let now = clock.now
        let (decision, limit, window) = state.withLock { ($0.admit(vault, at: now), $0.limit, $0.window) }
        guard case .throttle(let remaining) = decision else { return }
        let seconds = remaining.components.seconds + (remaining.components.attoseconds > 0 ? 1 : 0)
        throw RequestLimitExceeded(limit: limit, window: window, retryAfter: max(1, Int(seconds)))
    }
}
