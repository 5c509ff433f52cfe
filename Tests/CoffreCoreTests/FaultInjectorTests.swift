import CoffreCore
import CoffreModel
import Synchronization
import Testing

@Suite struct FaultInjectorTests {
    static let operations = ["SecretGet", "SecretSet", "KeySign"]

    /// Draws from a fixed list, in turn.
    static func draws(_ values: [Double]) -> @Sendable () -> Double {
        let index = Mutex(0)
        return {
            index.withLock { i in
                defer { i += 1 }
                return values[i % values.count]
            }
        }
    }

    @Test func aCountFaultFailsTheNextRequestsThenLetsThemThrough() throws {
        let faults = FaultInjector(operations: Self.operations)
        let rule = try faults.add(FaultSpec(status: 503, retryAfter: 1, count: 2))
        #expect(rule.id == "f1" && rule.remaining == 2)
        let vault = try VaultName("alpha")
        #expect(faults.fault(vault: vault, operation: "SecretGet") == InjectedFault(id: "f1", status: 503, retryAfter: 1, latencyMilliseconds: 0))
        #expect(faults.fault(vault: vault, operation: "KeySign")?.status == 503)
        #expect(faults.fault(vault: vault, operation: "SecretGet") == nil)
        // A used-up fault stays listed, with its hits.
        #expect(faults.list.map(\.hits) == [2])
        #expect(faults.list.map(\.remaining) == [0])
    }

    @Test func faultsMatchTheirVaultAndOperationOnly() throws {
        let faults = FaultInjector(operations: Self.operations)
        _ = try faults.add(FaultSpec(vault: "Alpha", operation: "secretget", status: 429))
        let (alpha, bravo) = (try VaultName("alpha"), try VaultName("bravo"))
        #expect(faults.fault(vault: bravo, operation: "SecretGet") == nil)
        #expect(faults.fault(vault: alpha, operation: "SecretSet") == nil)
        #expect(faults.fault(vault: nil, operation: "SecretGet") == nil)
        #expect(faults.fault(vault: alpha, operation: "SecretGet")?.status == 429)
        // Names are stored as the audit log spells them.
        #expect(faults.list[0].spec.operation == "SecretGet" && faults.list[0].spec.vault == "alpha")
    }

    @Test func aRateFaultFiresOnTheShareOfDrawsBelowIt() throws {
        let faults = FaultInjector(operations: Self.operations, draw: Self.draws([0.1, 0.9, 0.29, 0.3]))
        _ = try faults.add(FaultSpec(status: 500, rate: 0.3))
        let fired = (0..<4).map { _ in faults.fault(vault: nil, operation: "SecretGet") != nil }
        #expect(fired == [true, false, true, false])
    }

    @Test func theFirstMatchingFaultDecidesAndLatencyOnlyFaultsCarryNoStatus() throws {
        let faults = FaultInjector(operations: Self.operations)
        _ = try faults.add(FaultSpec(operation: "KeySign", latencyMilliseconds: 40))
        _ = try faults.add(FaultSpec(status: 503, count: 1))
        #expect(faults.fault(vault: nil, operation: "KeySign") == InjectedFault(id: "f1", status: nil, retryAfter: nil, latencyMilliseconds: 40))
        #expect(faults.fault(vault: nil, operation: "SecretGet")?.id == "f2")
    }

    @Test func removeAndClearTakeFaultsOutOfForce() throws {
        let faults = FaultInjector(operations: Self.operations)
        let first = try faults.add(FaultSpec(status: 503))
        _ = try faults.add(FaultSpec(status: 429))
        #expect(try faults.remove(id: first.id).id == "f1")
        #expect(throws: CoffreError.faultNotFound("f1")) { try faults.remove(id: "f1") }
        #expect(faults.clear().map(\.id) == ["f2"])
        #expect(faults.fault(vault: nil, operation: "SecretGet") == nil)
        // Ids are never reused.
        #expect(try faults.add(FaultSpec(status: 500)).id == "f3")
    }

    @Test(arguments: [
        FaultSpec(status: 404),
        FaultSpec(),
        FaultSpec(status: 503, rate: 0.5, count: 2),
        FaultSpec(status: 503, rate: 1.5),
        FaultSpec(status: 503, count: 0),
        FaultSpec(status: 503, retryAfter: -1),
        FaultSpec(status: 503, latencyMilliseconds: 600_000),
        FaultSpec(operation: "SecretFetch", status: 503),
        FaultSpec(vault: "no", status: 503),
    ])
    func badSpecsAreRefusedAndNothingIsAdded(spec: FaultSpec) throws {
        let faults = FaultInjector(operations: Self.operations)
        #expect(throws: CoffreError.self) { try faults.add(spec) }
        #expect(faults.list.isEmpty)
    }
}
