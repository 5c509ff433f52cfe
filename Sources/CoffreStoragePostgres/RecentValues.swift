import Synchronization

/// What this node last saw committed at some keys (a value, or `nil`: absent): the guesses from which an optimistic
/// transaction runs without reading (see `OptimisticTransaction`). A guess may be stale, as another node may have
/// written since; the transaction's end checks every value it used, so a stale guess costs a second run, never a
/// wrong result.
///
/// Bounded in bytes: entries go to a young generation, which becomes the old one (and the old one is dropped) once it
/// holds half the budget. Lookups look in both.
final class RecentValues: Sendable {
    private struct Generations {
        var young: [String: [UInt8]?] = [:]
        var old: [String: [UInt8]?] = [:]
        var youngBytes = 0
    }

    /// Values larger than this are forgotten rather than kept.
    static let largestValue = 16 * 1024
    /// Per entry, besides its key and value: dictionary slots and array headers, roughly.
    private static let entryOverhead = 64

    private let generationBytes: Int
    private let state = Mutex(Generations())

    /// - Parameter budget: the bytes (keys, values and overhead) both generations hold at most.
    init(budget: Int = 8 * 1024 * 1024) {
        generationBytes = budget / 2
    }

    /// The value last seen at `key`: `.some(nil)` if it was absent, `nil` if it is not known.
    func value(at key: String) -> [UInt8]?? {
        state.withLock { $0.young[key] ?? $0.old[key] }
    }

    /// Remembers the values committed (or read) at these keys, and forgets those too large to keep.
    func remember(_ values: [String: [UInt8]?]) {
        state.withLock { state in
            for (key, value) in values {
                let size = value?.count ?? 0
                guard size <= Self.largestValue else {
                    state.young[key] = nil
                    state.old[key] = nil
                    continue
                }
                if state.youngBytes >= generationBytes {
                    state.old = state.young
                    state.young = [:]
                    state.youngBytes = 0
                }
                switch state.young.updateValue(value, forKey: key) {
                case .some(let previous): state.youngBytes += max(0, size - (previous?.count ?? 0))
                case .none: state.youngBytes += key.utf8.count + size + Self.entryOverhead
                }
            }
        }
    }

    /// Forgets what was seen at `keys` (a transaction found some of them changed).
    func forget(_ keys: some Sequence<String>) {
        state.withLock { state in
            for key in keys {
                state.young[key] = nil
                state.old[key] = nil
            }
        }
    }
}
