import Synchronization

/// What a shared backend hears of the changes made to it, by any node (this one included).
public enum ChangeNotice: Sendable, Equatable {
    /// Hearing (re)started: from now on every change to a key under the feed's prefixes is heard.
    case listening
    /// The key was written or deleted.
    case changed(String)
    /// Hearing stopped: changes may go unheard until `.listening` comes again.
    case deaf
}

/// The changes to keys under `prefixes` of a backend that several nodes write, as the backend hears of them
/// (PostgreSQL: LISTEN/NOTIFY). While the feed listens, a cache may keep such a key's record without asking the
/// backend, forgetting it when its change is heard. A change is heard milliseconds after it commits, so another node
/// may answer from the old record for that long.
public final class ChangeFeed: Sendable {
    public let prefixes: [String]
    private let state = Mutex<(listening: Bool, listeners: [@Sendable (ChangeNotice) -> Void])>((false, []))

    public init(prefixes: [String]) { self.prefixes = prefixes }

    /// Whether every change to `key` is heard (while the feed listens).
    public func announces(_ key: String) -> Bool {
        prefixes.contains { key.hasPrefix($0) }
    }

    /// Calls `listener` with every notice from now on, first with `.listening` if the feed already listens. Listeners
    /// run under the feed's lock, in order: they must be quick and must not call back into the feed.
    public func subscribe(_ listener: @escaping @Sendable (ChangeNotice) -> Void) {
        state.withLock { state in
            state.listeners.append(listener)
            if state.listening { listener(.listening) }
        }
    }

    /// For the backend: passes `notice` to every listener.
    public func announce(_ notice: ChangeNotice) {
        state.withLock { state in
            switch notice {
            case .listening: state.listening = true
            case .deaf: state.listening = false
            case .changed: break
            }
            for listener in state.listeners { listener(notice) }
        }
    }
}
