import CPKCS11
import CoffreCrypto
import CoffreSoftHSMTestSupport
import Foundation
import Testing

@testable import CoffreKeyCustody

/// Starting against a token, and losing it: each failure is typed and says what is wrong, never the PIN.
@Suite(.softHSM([.init("connection"), .init("concurrency")]), .serialized)
struct TokenConnectionTests {
    private func hsm() throws -> SoftHSM { try SoftHSM.requireCurrent() }

    private func pinFile(containing text: String) throws -> String {
        let url = try hsm().directory.appendingPathComponent("pin-\(UUID().uuidString)")
        try text.write(to: url, atomically: true, encoding: .utf8)
        return url.path
    }

    @Test func aWrongPINIsRefusedAtStart() async throws {
        var configuration = try hsm().configuration("connection")
        configuration.pinFile = try pinFile(containing: "0000-wrong\n")
        await expectFailure(CustodyFailure.pinIncorrect) { try await PKCS11Custody.open(configuration) }
    }

    @Test func aMissingTokenIsRefusedAtStart() async throws {
        await expectFailure(CustodyFailure.tokenNotFound(label: "no-such-token")) { try await hsm().custody("no-such-token") }
    }

    @Test func anUnusablePINFileIsNamedWithoutItsContent() async throws {
        var configuration = try hsm().configuration("connection")
        configuration.pinFile = "/nonexistent/pin"
        await expectFailure(CustodyFailure.pinFileUnusable("/nonexistent/pin: No such file or directory")) {
            try await PKCS11Custody.open(configuration)
        }
        configuration.pinFile = try pinFile(containing: "\n")
        await expectFailure(CustodyFailure.pinFileUnusable("\(configuration.pinFile) is empty")) { try await PKCS11Custody.open(configuration) }
    }

    @Test func aMissingModuleIsRefusedAtStart() async throws {
        var configuration = try hsm().configuration("connection")
        configuration.modulePath = "/nonexistent/libpkcs11.so"
        await #expect(throws: CustodyFailure.self) { try await PKCS11Custody.open(configuration) }
        do {
            _ = try await PKCS11Custody.open(configuration)
        } catch let failure as CustodyFailure {
            guard case .moduleUnusable(let reason) = failure else { throw failure }
            #expect(reason.contains("/nonexistent/libpkcs11.so"))
        }
    }

    /// Every session of the application closes behind the custody's back (as when a device is removed or an HSM client
    /// restarts): the next call fails as retryable, and the one after reconnects, reading the PIN file again to log in.
    @Test func aLostConnectionIsRetryableAndThePoolReconnects() async throws {
        let hsm = try hsm()
        let custody = try await hsm.custody("connection")
        let key = try await custody.generate(KeySpec(type: .ecHSM), policy: KeyPolicy(), label: "survivor")
        try await custody.expectSignatureVerifies(key, algorithm: "ES256")

        try hsm.closeAllSessions("connection")
        do {
            _ = try await custody.sign(key, algorithm: "ES256", digest: Digest.sha256([1]))
            Issue.record("a call on a closed session succeeded")
        } catch let failure as CustodyFailure {
            #expect(failure.isRetryable)
            #expect(failure == .unavailable("C_SignInit returned CKR_SESSION_HANDLE_INVALID"))
        }
        try await custody.expectSignatureVerifies(key, algorithm: "ES256")

        // The login after a loss reads the PIN file again: a wrong PIN there now is reported as such.
        let original = try String(contentsOfFile: hsm.pinFile, encoding: .utf8)
        try "0000-wrong\n".write(toFile: hsm.pinFile, atomically: true, encoding: .utf8)
        defer { try? original.write(toFile: hsm.pinFile, atomically: true, encoding: .utf8) }
        try hsm.closeAllSessions("connection")
        await expectFailure(CustodyFailure.unavailable("C_SignInit returned CKR_SESSION_HANDLE_INVALID")) {
            try await custody.sign(key, algorithm: "ES256", digest: Digest.sha256([1]))
        }
        await expectFailure(CustodyFailure.pinIncorrect) {
            try await custody.sign(key, algorithm: "ES256", digest: Digest.sha256([1]))
        }
        try original.write(toFile: hsm.pinFile, atomically: true, encoding: .utf8)
        try await custody.expectSignatureVerifies(key, algorithm: "ES256")
    }

    /// Many tasks at once through a pool of two sessions: every signature is right.
    @Test func concurrentCallsShareABoundedPool() async throws {
        let custody = try await hsm().custody("concurrency", maximumSessions: 2)
        let rsa = try await custody.generate(KeySpec(type: .rsaHSM), policy: KeyPolicy(), label: "rsa")
        let ec = try await custody.generate(KeySpec(type: .ecHSM), policy: KeyPolicy(), label: "ec")
        let failures = try await withThrowingTaskGroup(of: Int.self) { group in
            for index in 0..<200 {
                group.addTask {
                    let (key, algorithm) = index.isMultiple(of: 2) ? (rsa, "RS256") : (ec, "ES256")
                    let digest = Digest.sha256(Array("message \(index)".utf8))
                    let signature = try await custody.sign(key, algorithm: algorithm, digest: digest)
                    return try key.publicKey!.verify(algorithm, digest: digest, signature: signature) ? 0 : 1
                }
            }
            return try await group.reduce(0, +)
        }
        #expect(failures == 0)
        #expect(custody.openSessionCount() <= 2)
    }

}

/// The pool's bookkeeping, without sessions or threads.
struct SessionPoolStateTests {
    typealias State = SessionPoolState<Int, String>

    @Test func borrowersBeyondTheLimitWaitInLine() {
        var state = State(limit: 2)
        #expect(isPermit(state.tryAcquire()))
        #expect(isPermit(state.acquire(orEnqueue: "second")))
        #expect(state.acquire(orEnqueue: "third") == nil)
        #expect(state.acquire(orEnqueue: "fourth") == nil)
        #expect(state.open == 2 && state.waiting == 2)

        // A returned session goes to the first in line, then the next; then it is idle.
        let first = state.release(10)
        #expect(first?.0 == "third" && session(first?.1) == 10)
        let second = state.release(11)
        #expect(second?.0 == "fourth" && session(second?.1) == 11)
        #expect(state.release(10) == nil)
        #expect(state.idle == [10] && state.open == 2)
        #expect(session(state.tryAcquire()) == 10)
    }

    @Test func aLostConnectionDropsTheIdleSessionsAndPassesAPermit() {
        var state = State(limit: 3)
        for _ in 0..<3 { _ = state.tryAcquire() }
        _ = state.release(1)
        _ = state.release(2)
        #expect(state.acquire(orEnqueue: "waiting") != nil) // takes idle 2
        #expect(state.acquire(orEnqueue: "waiting") != nil) // takes idle 1
        #expect(state.acquire(orEnqueue: "waiting") == nil)
        _ = state.release(7) // to the waiter
        _ = state.release(8) // idle
        #expect(state.idle == [8] && state.open == 3)

        let (closing, handoff) = state.discard(lostConnection: true)
        #expect(closing == [8])
        #expect(handoff == nil)
        #expect(state.open == 1 && state.idle.isEmpty)
    }

    @Test func aSessionThatCouldNotOpenFreesItsPlaceForTheNextInLine() {
        var state = State(limit: 1)
        #expect(isPermit(state.tryAcquire()))
        #expect(state.acquire(orEnqueue: "next") == nil)
        let (closing, handoff) = state.discard(lostConnection: false)
        #expect(closing.isEmpty)
        #expect(handoff?.0 == "next" && isPermit(handoff?.1))
        #expect(state.open == 1)
    }

    private func isPermit(_ grant: SessionGrant<Int>?) -> Bool {
        if case .permit = grant { return true }
        return false
    }

    private func session(_ grant: SessionGrant<Int>?) -> Int? {
        if case .session(let session) = grant { return session }
        return nil
    }
}
