import CoffreStorage
import Foundation
import Synchronization

/// Counters and histograms in the Prometheus text format: requests by operation and status, their latency, crypto
/// operations by algorithm, and storage latency. Labels carry operation and algorithm names only, never object names.
public final class MetricsRegistry: Sendable {
    static let buckets: [Double] = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5]

    struct Histogram {
        var counts = [UInt64](repeating: 0, count: MetricsRegistry.buckets.count)
        var sum = 0.0
        var total: UInt64 = 0

        mutating func observe(_ value: Double) {
            for (index, bound) in MetricsRegistry.buckets.enumerated() where value <= bound { counts[index] += 1 }
            sum += value
            total += 1
        }
    }

    /// Series are keyed by their label values (no label text is built per request); labels are written when rendered.
    struct RequestSeries: Hashable {
        var operation: String
        var status: Int
    }

    struct CryptoSeries: Hashable {
        var operation: String
        var algorithm: String
    }

    struct State {
        var requests: [RequestSeries: UInt64] = [:]
        var requestDurations: [String: Histogram] = [:]
        var crypto: [CryptoSeries: UInt64] = [:]
        var storage: [String: Histogram] = [:]
    }

    let state = Mutex(State())
    /// Samples of the counters over the last hour, for charts (``MetricsHistory``).
    public let history = MetricsHistory()

    public init() {}

    public func request(operation: String, status: Int, seconds: Double) {
        state.withLock { state in
            state.requests[RequestSeries(operation: operation, status: status), default: 0] += 1
            state.requestDurations[operation, default: Histogram()].observe(seconds)
        }
    }

    /// A cryptographic operation that was carried out (so `algorithm` is one the engine knows: the series stay few).
    public func crypto(operation: String, algorithm: String) {
        state.withLock { $0.crypto[CryptoSeries(operation: operation, algorithm: algorithm), default: 0] += 1 }
    }

    public func storage(_ operation: String, seconds: Double) {
        state.withLock { $0.storage[operation, default: Histogram()].observe(seconds) }
    }

    /// The Prometheus text exposition.
    public func render(sealed: Bool) -> String {
        let state = state.withLock { $0 }
        var lines: [String] = []
        lines += ["# HELP coffre_sealed Whether the server is sealed.", "# TYPE coffre_sealed gauge", "coffre_sealed \(sealed ? 1 : 0)"]
        lines += ["# HELP coffre_requests_total Requests by operation and HTTP status.", "# TYPE coffre_requests_total counter"]
        lines += state.requests.map { (#"operation="\#(Self.label($0.key.operation))",status="\#($0.key.status)""#, $0.value) }
            .sorted { $0.0 < $1.0 }.map { "coffre_requests_total{\($0.0)} \($0.1)" }
        lines += histogram("coffre_request_duration_seconds", "Request latency by operation.", state.requestDurations)
        lines += [
            "# HELP coffre_crypto_operations_total Cryptographic operations by operation and algorithm.",
            "# TYPE coffre_crypto_operations_total counter",
        ]
        lines += state.crypto.map { (#"operation="\#(Self.label($0.key.operation))",algorithm="\#(Self.label($0.key.algorithm))""#, $0.value) }
            .sorted { $0.0 < $1.0 }.map { "coffre_crypto_operations_total{\($0.0)} \($0.1)" }
        lines += histogram("coffre_storage_duration_seconds", "Storage latency by operation.", state.storage)
        return lines.joined(separator: "\n") + "\n"
    }

    /// A label value with nothing that needs escaping: letters, digits, `-` and `_`.
    private static func label(_ value: String) -> String {
        String(
            decoding: value.utf8.filter { byte in
                (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte | 0x20) || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte)
                    || byte == UInt8(ascii: "-") || byte == UInt8(ascii: "_")
            }.prefix(32), as: UTF8.self)
    }

    private func histogram(_ name: String, _ help: String, _ series: [String: Histogram]) -> [String] {
        var lines = ["# HELP \(name) \(help)", "# TYPE \(name) histogram"]
        for (operation, histogram) in series.sorted(by: { $0.key < $1.key }) {
            let labels = #"operation="\#(Self.label(operation))""#
            for (index, bound) in Self.buckets.enumerated() {
                lines.append("\(name)_bucket{\(labels),le=\"\(bound)\"} \(histogram.counts[index])")
            }
            lines.append("\(name)_bucket{\(labels),le=\"+Inf\"} \(histogram.total)")
            lines.append("\(name)_sum{\(labels)} \(histogram.sum)")
            lines.append("\(name)_count{\(labels)} \(histogram.total)")
        }
        return lines
    }
}

/// A storage backend that reports how long each call takes.
public struct InstrumentedStorage: StorageBackend {
    let backend: any StorageBackend
    let metrics: MetricsRegistry

    public init(_ backend: any StorageBackend, metrics: MetricsRegistry) {
        self.backend = backend
        self.metrics = metrics
    }

    public func get(_ key: String) async throws -> [UInt8]? {
        try await timed("get") { try await backend.get(key) }
    }

    public func scan(prefix: String, after: String?, limit: Int) async throws -> [StorageEntry] {
        try await timed("scan") { try await backend.scan(prefix: prefix, after: after, limit: limit) }
    }

    public func scanKeys(prefix: String, after: String?, limit: Int) async throws -> [String] {
        try await timed("scan") { try await backend.scanKeys(prefix: prefix, after: after, limit: limit) }
    }

    public func transaction<T: Sendable>(_ body: @escaping @Sendable (any StorageTransaction) async throws -> T) async throws -> T {
        try await timed("transaction") { try await backend.transaction(body) }
    }

    public var changeFeed: ChangeFeed? { backend.changeFeed }

    private func timed<T>(_ operation: String, _ work: () async throws -> T) async throws -> T {
        let start = ContinuousClock.now
        defer {
            let elapsed = ContinuousClock.now - start
            metrics.storage(operation, seconds: Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18)
        }
        return try await work()
    }
}
