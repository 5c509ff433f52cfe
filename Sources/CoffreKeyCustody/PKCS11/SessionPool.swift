import CPKCS11
import Synchronization

/// What a borrower of a pooled session gets: a session, or the right to open one (the pool counted it already).
enum SessionGrant<Session: Sendable>: Sendable {
    case session(Session)
    case permit
}

/// The bookkeeping of a bounded pool of sessions, without I/O: at most `limit` sessions are open (idle, lent, or being
/// opened); a borrower beyond that waits in line. A lost session takes every idle one with it (they share the lost
/// connection), and its place passes to the next in line as a permit to open a new one.
struct SessionPoolState<Session: Sendable, Waiter> {
    typealias Grant = SessionGrant<Session>

    let limit: Int
    private(set) var idle: [Session] = []
    /// Sessions open, lent, or being opened.
    private(set) var open = 0
    private var waiters: [Waiter] = []

    init(limit: Int) {
        precondition(limit > 0, "a session pool needs room for one session")
        self.limit = limit
    }

    var waiting: Int { waiters.count }

    /// A session or a permit when one is free; `nil` when the borrower must wait.
    mutating func tryAcquire() -> Grant? {
        if let session = idle.popLast() { return .session(session) }
        guard open < limit else { return nil }
        open += 1
        return .permit
    }

    /// As ``tryAcquire()``, or else `waiter` joins the line and `nil` is returned.
    mutating func acquire(orEnqueue waiter: Waiter) -> Grant? {
        if let grant = tryAcquire() { return grant }
        waiters.append(waiter)
        return nil
    }

    /// A healthy session comes back: to the first in line, or to the idle ones.
    mutating func release(_ session: Session) -> (Waiter, Grant)? {
        guard waiters.isEmpty else { return (waiters.removeFirst(), .session(session)) }
        idle.append(session)
        return nil
    }

    /// A lent session is given up: lost with its connection (then the idle sessions are dropped too, and returned for
    /// closing), or never opened. The freed place goes to the first in line as a permit.
    mutating func discard(lostConnection: Bool) -> (closing: [Session], handoff: (Waiter, Grant)?) {
        let closing = lostConnection ? idle : []
        if lostConnection { idle.removeAll() }
        open -= 1 + closing.count
        guard !waiters.isEmpty else { return (closing, nil) }
        open += 1
        return (closing, (waiters.removeFirst(), .permit))
    }
}

/// A bounded pool of sessions of one token, safe to use from many tasks at once: each operation borrows a session,
/// runs its module calls on the blocking executor, and gives it back. Sessions are opened when needed (up to the
/// limit), by the connection, which finds the token again and logs in again after the connection was lost.
final class SessionPool: Sendable {
    typealias Grant = SessionGrant<CK_SESSION_HANDLE>

    private let state: Mutex<SessionPoolState<CK_SESSION_HANDLE, CheckedContinuation<Grant, Never>>>
    private let connection: TokenConnection
    private let executor: BlockingExecutor

    init(connection: TokenConnection, limit: Int, executor: BlockingExecutor) {
        self.connection = connection
        self.executor = executor
        self.state = Mutex(SessionPoolState(limit: limit))
    }

    /// Runs `body` with a session of its own. A failure of `body` is rethrown as it is; a lost connection also drops the
    /// session (and the idle ones), so the next operation opens a new one.
    func withSession<T: Sendable>(_ body: @escaping @Sendable (PKCS11Session) throws -> T) async throws -> T {
        let grant = await acquire()
        let connection = connection
        let (handle, outcome) = try await executor.run { () -> (CK_SESSION_HANDLE?, Result<T, any Error>) in
            let handle: CK_SESSION_HANDLE
            switch grant {
            case .session(let session): handle = session
            case .permit:
                do {
                    handle = try connection.openSession()
                } catch {
                    return (nil, .failure(error))
                }
            }
            return (handle, Result { try body(PKCS11Session(module: connection.module, handle: handle)) })
        }
        if let handle {
            if case .failure(let error as PKCS11Error) = outcome, error.isConnectionLost {
                discard(handle, lostConnection: true)
            } else {
                release(handle)
            }
        } else {
            discard(nil, lostConnection: false)
        }
        return try outcome.get()
    }

    /// Sessions open, lent or being opened.
    var openSessions: Int { state.withLock { $0.open } }

    private func acquire() async -> Grant {
        if let grant = state.withLock({ $0.tryAcquire() }) { return grant }
        return await withCheckedContinuation { continuation in
            if let grant = state.withLock({ $0.acquire(orEnqueue: continuation) }) { continuation.resume(returning: grant) }
        }
    }

    private func release(_ handle: CK_SESSION_HANDLE) {
        if let (waiter, grant) = state.withLock({ $0.release(handle) }) { waiter.resume(returning: grant) }
    }

    private func discard(_ handle: CK_SESSION_HANDLE?, lostConnection: Bool) {
        let (closing, handoff) = state.withLock { $0.discard(lostConnection: lostConnection) }
        for session in closing + (handle.map { [$0] } ?? []) {
            PKCS11Session(module: connection.module, handle: session).close()
        }
        if let (waiter, grant) = handoff { waiter.resume(returning: grant) }
    }
}

/// How sessions of one token are opened: the token is found by its label (again, when its slot went away) and the user
/// logged in with the PIN from the PIN file when the application is not logged in already.
final class TokenConnection: Sendable {
    let module: PKCS11Module
    let tokenLabel: String
    private let pinFile: PINFile
    private let slot: Mutex<CK_SLOT_ID>

    /// Finds the token; `tokenNotFound` when no slot holds it.
    init(module: PKCS11Module, tokenLabel: String, pinFile: PINFile) throws {
        guard let slot = try Self.mapped({ try module.slot(withTokenLabel: tokenLabel) }) else {
            throw CustodyFailure.tokenNotFound(label: tokenLabel)
        }
        self.module = module
        self.tokenLabel = tokenLabel
        self.pinFile = pinFile
        self.slot = Mutex(slot)
    }

    /// A new read-write session, logged in.
    func openSession() throws -> CK_SESSION_HANDLE {
        let handle: CK_SESSION_HANDLE
        do {
            handle = try open(on: slot.withLock { $0 })
        } catch let error as PKCS11Error where error.isConnectionLost {
            // The token may be back in another slot (a removed and reinserted device, a restarted HSM client).
            guard let found = try module.slot(withTokenLabel: tokenLabel) else {
                throw CustodyFailure.unavailable("the token '\(tokenLabel)' is not present")
            }
            slot.withLock { $0 = found }
            handle = try open(on: found)
        }
        let session = PKCS11Session(module: module, handle: handle)
        do {
            if try !session.isUserLoggedIn {
                try pinFile.withPIN { try session.login(pin: $0) }
            }
        } catch {
            session.close()
            throw error
        }
        return handle
    }

    private func open(on slot: CK_SLOT_ID) throws -> CK_SESSION_HANDLE {
        var handle: CK_SESSION_HANDLE = 0
        try ReturnValue.check(
            module.functions.C_OpenSession!(slot, CKF_SERIAL_SESSION | CKF_RW_SESSION, nil, nil, &handle), "C_OpenSession")
        return handle
    }

    /// Module failures of a start-up step, as custody failures.
    private static func mapped<T>(_ body: () throws -> T) throws -> T {
        do {
            return try body()
        } catch let error as PKCS11Error {
            throw error.custodyFailure()
        }
    }
}
