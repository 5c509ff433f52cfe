import Synchronization

/// The server's counters at one moment: what the charts difference between two samples.
public struct MetricsSample: Sendable, Equatable {
    /// Seconds since 1970 (the server's clock).
    public var time: Int64
    public var requests: UInt64
    /// Answers with a 4xx status.
    public var clientErrors: UInt64
    /// Answers with a 5xx status.
    public var serverErrors: UInt64
    public var cryptoOperations: UInt64
    /// Request latencies of every operation, by ``MetricsRegistry/buckets`` (not cumulative), and past the last bucket.
    public var latencyBuckets: [UInt64]
}

/// One interval between two samples: rates per second and latency percentiles (nil when no request ended in it).
public struct MetricsInterval: Sendable, Equatable {
    public var start: Int64
    public var end: Int64
    public var requestsPerSecond: Double
    public var clientErrorsPerSecond: Double
    public var serverErrorsPerSecond: Double
    public var cryptoPerSecond: Double
    /// Seconds, estimated within the histogram's buckets as Prometheus' `histogram_quantile` does.
    public var p50: Double?
    public var p90: Double?
    public var p99: Double?
}

/// The last hour of samples of a ``MetricsRegistry`` (taken every few seconds by the server), for the console's
/// charts. Only counts are kept: no object name, caller or value.
public final class MetricsHistory: Sendable {
    /// How many samples are kept (an hour at one every 5 seconds).
    public static let capacity = 720
    private let samples = Mutex<[MetricsSample]>([])

    public init() {}

    public var all: [MetricsSample] { samples.withLock { $0 } }

    func append(_ sample: MetricsSample) {
        samples.withLock { samples in
            samples.append(sample)
            if samples.count > Self.capacity { samples.removeFirst(samples.count - Self.capacity) }
        }
    }

    /// The intervals between consecutive samples (of which the last may be a fresh one, not kept).
    public static func intervals(_ samples: [MetricsSample]) -> [MetricsInterval] {
        zip(samples, samples.dropFirst()).compactMap { first, second in
            guard second.time > first.time, second.requests >= first.requests else { return nil } // a restart resets the counters
            let seconds = Double(second.time - first.time)
            let buckets = zip(second.latencyBuckets, first.latencyBuckets).map { $0 &- $1 }
            return MetricsInterval(
                start: first.time, end: second.time, requestsPerSecond: Double(second.requests - first.requests) / seconds,
                clientErrorsPerSecond: Double(second.clientErrors &- first.clientErrors) / seconds,
                serverErrorsPerSecond: Double(second.serverErrors &- first.serverErrors) / seconds,
                cryptoPerSecond: Double(second.cryptoOperations &- first.cryptoOperations) / seconds, p50: quantile(0.5, buckets),
                p90: quantile(0.9, buckets), p99: quantile(0.99, buckets))
        }
    }

    /// The `q` quantile of counts per bucket, interpolated linearly inside its bucket (past the last bound: that bound).
    static func quantile(_ q: Double, _ counts: [UInt64]) -> Double? {
        let total = counts.reduce(0, +)
        guard total > 0 else { return nil }
        let rank = q * Double(total)
        var below: UInt64 = 0
        for (index, count) in counts.enumerated() {
            if Double(below + count) >= rank, count > 0 {
                guard index < MetricsRegistry.buckets.count else { return MetricsRegistry.buckets.last }
                let lower = index == 0 ? 0 : MetricsRegistry.buckets[index - 1]
                let upper = MetricsRegistry.buckets[index]
                return lower + (upper - lower) * (rank - Double(below)) / Double(count)
            }
            below += count
        }
        return MetricsRegistry.buckets.last
    }
}

extension MetricsRegistry {
    /// The counters now.
    public func snapshot(at time: Int64) -> MetricsSample {
        state.withLock { state in
            var sample = MetricsSample(
                time: time, requests: 0, clientErrors: 0, serverErrors: 0, cryptoOperations: state.crypto.values.reduce(0, +),
                latencyBuckets: [UInt64](repeating: 0, count: Self.buckets.count + 1))
            for (series, count) in state.requests {
                sample.requests += count
                if (400..<500).contains(series.status) { sample.clientErrors += count }
                if series.status >= 500 { sample.serverErrors += count }
            }
            for histogram in state.requestDurations.values {
                // The stored counts are cumulative (`le`): the charts want them per bucket.
                var previous: UInt64 = 0
                for (index, count) in histogram.counts.enumerated() {
                    sample.latencyBuckets[index] += count - previous
                    previous = count
                }
                sample.latencyBuckets[Self.buckets.count] += histogram.total - previous
            }
            return sample
        }
    }

    /// Keeps the counters now in ``history`` (the server does it every few seconds).
    public func sample(at time: Int64) { history.append(snapshot(at: time)) }
}
