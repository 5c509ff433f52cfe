import CoffreCrypto
import Testing

@testable import CoffreServer

/// The seal life cycle without I/O: the server is a name, attempts end as the test says.
@Suite struct SealStateMachineTests {
    typealias Machine = SealStateMachine<String>

    /// Three shares of a 32-byte root key, two of which unseal.
    static let shares = try! Shamir.split(Array(repeating: 7, count: 32), shares: 3, threshold: 2)

    @Test func sharesCountUpToTheThresholdThenTheAttemptUnsealsForGood() {
        var machine = Machine(threshold: 2)
        #expect(machine.receive(share: Self.shares[0]) == .answerProgress)
        #expect(machine.progress == 1 && machine.server == nil)
        #expect(machine.receive(share: Self.shares[2]) == .unseal(shares: [Self.shares[0], Self.shares[2]]))
        #expect(machine.progress == 2 && machine.server == nil)
        machine.succeeded("server")
        #expect(machine.server == "server")
        #expect(machine.progress == 0)
    }

    @Test func aShareGivenTwiceCountsOnce() {
        var machine = Machine(threshold: 3)
        #expect(machine.receive(share: Self.shares[1]) == .answerProgress)
        #expect(machine.receive(share: Self.shares[1]) == .answerProgress)
        #expect(machine.progress == 1)
    }

    @Test(arguments: [[], [1], [0, 1, 2, 3]] as [[UInt8]])
    func aMalformedShareIsRefusedAndTheOthersKept(share: [UInt8]) {
        var machine = Machine(threshold: 3)
        _ = machine.receive(share: Self.shares[0])
        guard case .refuse = machine.receive(share: share) else {
            Issue.record("a malformed share is refused")
            return
        }
        #expect(machine.progress == 1)
    }

    @Test func aShareThatCannotBelongWithTheOthersIsRefusedAndTheOthersKept() {
        var machine = Machine(threshold: 3)
        _ = machine.receive(share: Self.shares[0])
        #expect(
            machine.receive(share: Array(Self.shares[1].dropLast()))
                == .refuse("The key share's length differs from that of the shares given so far."))
        var sameIndex = Self.shares[0]
        sameIndex[5] ^= 0xff
        #expect(machine.receive(share: sameIndex) == .refuse("Another key share with the same index was given already."))
        #expect(machine.progress == 1)
    }

    @Test func wrongSharesFailTheAttemptAndAreAllForgotten() {
        var machine = Machine(threshold: 2)
        _ = machine.receive(share: Self.shares[0])
        var wrong = Self.shares[1]
        wrong[3] ^= 0x01
        guard case .unseal = machine.receive(share: wrong) else {
            Issue.record("two shares are tried, right or wrong")
            return
        }
        machine.failed()
        #expect(machine.progress == 0 && machine.server == nil)
        // The right shares unseal afterwards.
        _ = machine.receive(share: Self.shares[0])
        #expect(machine.receive(share: Self.shares[1]) == .unseal(shares: [Self.shares[0], Self.shares[1]]))
    }

    @Test func sharesGivenDuringAnAttemptAreNotTakenAndSharesAfterUnsealChangeNothing() {
        var machine = Machine(threshold: 2)
        _ = machine.receive(share: Self.shares[0])
        _ = machine.receive(share: Self.shares[1])
        #expect(machine.receive(share: Self.shares[2]) == .busy)
        #expect(machine.progress == 2)
        machine.succeeded("server")
        #expect(machine.receive(share: Self.shares[2]) == .unsealed)
        #expect(machine.receive(share: [1]) == .unsealed)
        #expect(machine.server == "server")
    }

    @Test func autoUnsealRetriesAfterAFailureAndStopsOnceUnsealed() {
        var machine = Machine(threshold: 2)
        guard case .unseal = machine.begin() else {
            Issue.record("a sealed server tries")
            return
        }
        // The periodic try comes round while the first still runs: it does not start a second.
        guard case .busy = machine.begin() else {
            Issue.record("one attempt at a time")
            return
        }
        machine.failed() // the other vault was unreachable
        #expect(machine.server == nil)
        guard case .unseal = machine.begin() else {
            Issue.record("the next try tries again")
            return
        }
        machine.succeeded("server")
        guard case .unsealed(let server) = machine.begin() else {
            Issue.record("unsealed: nothing more to try")
            return
        }
        #expect(server == "server")
    }

    @Test func aRootKeyAttemptAndSharesDoNotOverlap() {
        var machine = Machine(threshold: 2)
        _ = machine.receive(share: Self.shares[0])
        guard case .unseal = machine.begin() else {
            Issue.record("a root key may come while shares are being given")
            return
        }
        #expect(machine.receive(share: Self.shares[1]) == .busy)
        #expect(machine.progress == 0)
        machine.failed()
        #expect(machine.receive(share: Self.shares[1]) == .answerProgress)
        #expect(machine.progress == 1)
    }
}
