import CoffreModel
import Synchronization

/// What `coffre faults add` asks for: which requests a fault matches and what they get. Its JSON is the body of the
/// management API's `POST /coffre/v1/faults`.
public struct FaultSpec: Sendable, Equatable, Codable {
    /// Only requests to this vault (any vault when nil).
    public var vault: String?
    /// Only this operation, by its audit name (`SecretGet`); any operation when nil.
    public var operation: String?
    /// The answer: 429, 500 or 503; nil for a latency-only fault.
    public var status: Int?
    /// The `Retry-After` header of the answer, in seconds.
    public var retryAfter: Int?
    /// The share of matching requests that get the fault (0–1); every matching request when nil.
    public var rate: Double?
    /// Only the next `count` matching requests get the fault.
    public var count: Int?
    /// A delay before the answer (or before the request goes on, for a latency-only fault).
    public var latencyMilliseconds: Int?

    public init(
        vault: String? = nil, operation: String? = nil, status: Int? = nil, retryAfter: Int? = nil, rate: Double? = nil, count: Int? = nil,
        latencyMilliseconds: Int? = nil
    ) {
        self.vault = vault
        self.operation = operation
        self.status = status
        self.retryAfter = retryAfter
        self.rate = rate
        self.count = count
        self.latencyMilliseconds = latencyMilliseconds
    }

    enum CodingKeys: String, CodingKey {
        case vault, operation, status, retryAfter, rate, count
        case latencyMilliseconds = "latencyMs"
    }
}

/// A fault in force: its spec (validated, names canonical), its id, and what it did so far.
public struct FaultRule: Sendable, Equatable, Codable {
    public var id: String
    public var spec: FaultSpec
    /// How many more requests a `count` fault will fail (nil without a count).
    public var remaining: Int?
    /// How many requests got this fault.
    public var hits: Int
}

/// The fault a request gets: a delay, then (unless latency-only) an error answer.
public struct InjectedFault: Error, Sendable, Equatable {
    public var id: String
    public var status: Int?
    public var retryAfter: Int?
    public var latencyMilliseconds: Int

    public init(id: String, status: Int?, retryAfter: Int?, latencyMilliseconds: Int) {
        self.id = id
        self.status = status
        self.retryAfter = retryAfter
        self.latencyMilliseconds = latencyMilliseconds
    }
}

/// Development-mode fault injection: the rules `coffre faults add` sets, and the decision for each request, taken
/// before the request has any effect. The first rule (in the order added) that matches and fires decides.
public final class FaultInjector: Sendable {
    /// The answers a fault may give.
    public static let statuses: Set<Int> = [429, 500, 503]

    /// The operation names faults may name, each in its audit spelling.
    let operations: [String: String]
    private let rules = Mutex<(list: [FaultRule], next: Int)>(([], 1))
    /// A number in 0..<1 (random; tests give their own).
    private let draw: @Sendable () -> Double

    /// - Parameter operations: the audit names of the operations requests can perform (`SecretGet`, …).
    public init(operations: [String], draw: @escaping @Sendable () -> Double = { Double.random(in: 0..<1) }) {
        self.operations = Dictionary(operations.map { ($0.lowercased(), $0) }, uniquingKeysWith: { first, _ in first })
        self.draw = draw
    }

    public var list: [FaultRule] { rules.withLock { $0.list } }

    /// Validates `spec` and puts it in force after the faults already there.
    public func add(_ spec: FaultSpec) throws -> FaultRule {
        var spec = spec
        if let vault = spec.vault { spec.vault = try VaultName(vault).value }
        if let operation = spec.operation {
            guard let canonical = operations[operation.lowercased()] else {
                throw CoffreError.badParameter(
                    "'\(operation)' is not an operation name; use the audit log's names: \(operations.values.sorted().joined(separator: ", ")).")
            }
            spec.operation = canonical
        }
        if let status = spec.status, !Self.statuses.contains(status) {
            throw CoffreError.badParameter("A fault's status is 429, 500 or 503, not \(status).")
        }
        guard spec.status != nil || (spec.latencyMilliseconds ?? 0) > 0 else {
            throw CoffreError.badParameter("A fault needs a status (429, 500 or 503), a latency, or both.")
        }
        if let retryAfter = spec.retryAfter, !(0...3600).contains(retryAfter) {
            throw CoffreError.badParameter("Retry-After is between 0 and 3600 seconds.")
        }
        if let latency = spec.latencyMilliseconds, !(0...60_000).contains(latency) {
            throw CoffreError.badParameter("A fault's latency is between 0 and 60000 milliseconds.")
        }
        guard spec.rate == nil || spec.count == nil else { throw CoffreError.badParameter("Give a fault a rate or a count, not both.") }
        if let rate = spec.rate, !(rate >= 0 && rate <= 1) { throw CoffreError.badParameter("A fault's rate is between 0.0 and 1.0.") }
        if let count = spec.count, count < 1 { throw CoffreError.badParameter("A fault's count is at least 1.") }
        let validated = spec
        return rules.withLock { rules in
            let rule = FaultRule(id: "f\(rules.next)", spec: validated, remaining: validated.count, hits: 0)
            rules.next += 1
            rules.list.append(rule)
            return rule
        }
    }

    /// Takes a fault out of force.
    public func remove(id: String) throws -> FaultRule {
        try rules.withLock { rules in
            guard let index = rules.list.firstIndex(where: { $0.id == id }) else { throw CoffreError.faultNotFound(id) }
            return rules.list.remove(at: index)
        }
    }

    /// Takes every fault out of force; returns them.
    @discardableResult
    public func clear() -> [FaultRule] {
        rules.withLock { rules in
            defer { rules.list.removeAll() }
            return rules.list
        }
    }

    /// The fault a request to `vault` performing `operation` gets now, if any (a `count` fault is used up by it).
    public func fault(vault: VaultName?, operation: String) -> InjectedFault? {
        rules.withLock { rules in
            guard !rules.list.isEmpty else { return nil }
            for index in rules.list.indices {
                let spec = rules.list[index].spec
                guard spec.vault == nil || spec.vault == vault?.value, spec.operation == nil || spec.operation == operation else { continue }
                if let remaining = rules.list[index].remaining {
                    guard remaining > 0 else { continue }
                    rules.list[index].remaining = remaining - 1
                } else if let rate = spec.rate, draw() >= rate {
                    continue
                }
                rules.list[index].hits += 1
                return InjectedFault(
                    id: rules.list[index].id, status: spec.status, retryAfter: spec.retryAfter, latencyMilliseconds: spec.latencyMilliseconds ?? 0)
            }
            return nil
        }
    }
}
