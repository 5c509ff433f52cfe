/// A server's seal without I/O: sealed (counting key shares) → unsealing (one attempt at a time) → unsealed (for
/// good). `ServerRuntime` owns it: it combines the shares, opens the barrier, fetches the root key from the other vault
/// for auto-unseal, and reports how each attempt ended.
///
/// Shares: a share given twice counts once; a malformed one, or one that cannot belong with those given so far (another
/// length, or another share's index), is refused and the others are kept. When `threshold` shares are in, they are
/// tried; if they do not rebuild the root key they are all forgotten. Shares given while an attempt runs are refused
/// (the attempt's outcome decides whether any are needed); shares given once unsealed change nothing.
struct SealStateMachine<Server> {
    private enum State {
        case sealed(shares: [[UInt8]])
        /// One attempt runs: with the shares given (`fromShares`), or with a root key from a file or the other vault.
        case unsealing(fromShares: Bool)
        case unsealed(Server)
    }

    /// The shares that unseal (for a server sealed with key shares).
    let threshold: Int
    private var state = State.sealed(shares: [])

    init(threshold: Int) { self.threshold = threshold }

    /// The server, once unsealed.
    var server: Server? {
        guard case .unsealed(let server) = state else { return nil }
        return server
    }

    /// The shares that count towards the next attempt (all of them while an attempt with shares runs).
    var progress: Int {
        switch state {
        case .sealed(let shares): shares.count
        case .unsealing(let fromShares): fromShares ? threshold : 0
        case .unsealed: 0
        }
    }

    enum ShareAction: Equatable {
        /// Counted (or known already): answer the progress.
        case answerProgress
        /// Not counted, the others kept: answer this reason as a bad request.
        case refuse(String)
        /// An attempt runs: answer that the share was not taken.
        case busy
        /// Unsealed already: the share changes nothing.
        case unsealed
        /// Enough shares: combine these, unseal with the root key they give, and report with `succeeded` or `failed`.
        case unseal(shares: [[UInt8]])
    }

    /// An operator gives a key share.
    mutating func receive(share: [UInt8]) -> ShareAction {
        switch state {
        case .unsealed: return .unsealed
        case .unsealing: return .busy
        case .sealed(var shares):
            // A share is its index (1…255) then one byte per byte of the root key.
            guard share.count >= 2, share[0] != 0 else { return .refuse("The key share is malformed.") }
            if shares.contains(share) { return .answerProgress }
            if let first = shares.first, first.count != share.count {
                return .refuse("The key share's length differs from that of the shares given so far.")
            }
            if shares.contains(where: { $0[0] == share[0] }) {
                return .refuse("Another key share with the same index was given already.")
            }
            shares.append(share)
            guard shares.count >= threshold else {
                state = .sealed(shares: shares)
                return .answerProgress
            }
            state = .unsealing(fromShares: true)
            return .unseal(shares: shares)
        }
    }

    enum BeginAction {
        /// Unseal with the root key, and report with `succeeded` or `failed`.
        case unseal
        /// Another attempt runs.
        case busy
        case unsealed(Server)
    }

    /// A root key is available without shares (a key file at start, or auto-unseal's periodic try).
    mutating func begin() -> BeginAction {
        switch state {
        case .unsealed(let server): return .unsealed(server)
        case .unsealing: return .busy
        case .sealed:
            state = .unsealing(fromShares: false)
            return .unseal
        }
    }

    /// The attempt opened the barrier: `server` answers from now on.
    mutating func succeeded(_ server: Server) {
        guard case .unsealing = state else { preconditionFailure("an unseal ended that had not begun") }
        state = .unsealed(server)
    }

    /// The attempt failed (wrong shares, the other vault unreachable, the storage down): sealed, with no share kept.
    mutating func failed() {
        guard case .unsealing = state else { preconditionFailure("an unseal ended that had not begun") }
        state = .sealed(shares: [])
    }
}
