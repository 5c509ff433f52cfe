import CoffreAuth
import CoffreCore
import CoffreModel
import Foundation
import Hummingbird

/// The console's charts (`/monitoring`) of the server's metrics over the last hour: requests per second, latency
/// percentiles, errors per second and cryptographic operations per second, drawn by the server as inline SVG (no
/// script, nothing fetched: the pages' policy allows neither).
///
/// Coffre's metrics are the server's (no vault in their labels), so reading them needs Azure Monitor's
/// `Microsoft.Insights/metrics/read` on the subscription (Reader, Contributor, Owner, and Coffre's administrators).
extension ConsolePages {
    static let readMetrics = "Microsoft.Insights/metrics/read"

    var metricsRoutes: [Route<OperationName, ConsolePerson?>] {
        [Route(.get, "monitoring", "ConsoleMetrics", signedIn(charts))]
    }

    func charts(_ request: ConsoleRequest, _ person: ConsolePerson) async throws -> Response {
        let authorization = services.resources.authorization
        guard try await authorization.allows(try await authorization.grants(of: person.caller), Self.readMetrics, at: .subscription) else {
            throw ResourceManagerError.authorizationFailed(
                objectId: person.caller.objectId, action: Self.readMetrics, scope: "/subscriptions/\(services.resources.subscriptionId)")
        }
        let now = services.clock.now
        var samples = services.metrics.history.all
        // The counters now close the last interval (not kept: the server samples at its own pace).
        if let last = samples.last, now > last.time { samples.append(services.metrics.snapshot(at: now)) }
        let intervals = MetricsHistory.intervals(samples)

        var page = frame("Metrics", person, trail: [])
        let current = services.metrics.snapshot(at: now)
        page.paragraph(
            "Since the server started: \(current.requests) requests, \(current.clientErrors) client errors (4xx), "
                + "\(current.serverErrors) server errors (5xx), \(current.cryptoOperations) cryptographic operations.")
        guard let first = intervals.first, let last = intervals.last else {
            page.paragraph("No samples yet: the server samples its counters every 5 seconds. Reload this page in a moment.")
            return page.response(status: .ok)
        }
        let span = (first.start, last.end)
        let charts: [(title: String, unit: String, series: [Series])] = [
            ("Requests", "per second", [Series(name: "requests/s", color: "#0078d4", points: intervals.map { ($0.end, $0.requestsPerSecond) })]),
            (
                "Latency", "milliseconds",
                [
                    Series(name: "p50", color: "#107c10", points: intervals.map { ($0.end, $0.p50.map { $0 * 1000 }) }),
                    Series(name: "p90", color: "#ca5010", points: intervals.map { ($0.end, $0.p90.map { $0 * 1000 }) }),
                    Series(name: "p99", color: "#a4262c", points: intervals.map { ($0.end, $0.p99.map { $0 * 1000 }) }),
                ]
            ),
            (
                "Errors", "per second",
                [
                    Series(name: "4xx/s", color: "#ca5010", points: intervals.map { ($0.end, $0.clientErrorsPerSecond) }),
                    Series(name: "5xx/s", color: "#a4262c", points: intervals.map { ($0.end, $0.serverErrorsPerSecond) }),
                ]
            ),
            (
                "Cryptographic operations", "per second",
                [Series(name: "operations/s", color: "#5c2d91", points: intervals.map { ($0.end, $0.cryptoPerSecond) })]
            ),
        ]
        for chart in charts {
            page.append(
                escaped: "<figure>" + Self.svgChart(chart.title, chart.series, span: span)
                    + "<figcaption>\(HTMLPage.escape("\(chart.title), \(chart.unit)"))</figcaption></figure>")
        }
        return page.response(status: .ok)
    }

    /// A line of a chart: values by time (nil: no value in that interval, a gap).
    struct Series {
        var name: String
        var color: String
        var points: [(time: Int64, value: Double?)]
    }

    static let chartSize = (width: 460.0, height: 200.0)
    static let chartMargin = (left: 52.0, right: 10.0, top: 26.0, bottom: 24.0)

    /// A line chart as SVG markup: every text escaped, colours and positions computed here.
    static func svgChart(_ title: String, _ series: [Series], span: (Int64, Int64)) -> String {
        let (width, height) = chartSize
        let margin = chartMargin
        let plot = (width: width - margin.left - margin.right, height: height - margin.top - margin.bottom)
        let top = niceCeiling(series.flatMap { $0.points.compactMap(\.value) }.max() ?? 0)
        let duration = Double(max(1, span.1 - span.0))
        func x(_ time: Int64) -> Double { margin.left + plot.width * Double(time - span.0) / duration }
        func y(_ value: Double) -> Double { margin.top + plot.height * (1 - value / top) }
        func number(_ value: Double) -> String { String(format: "%.1f", value) }

        var svg =
            "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(Int(width))\" height=\"\(Int(height))\" viewBox=\"0 0 \(Int(width)) \(Int(height))\""
            + " role=\"img\" aria-label=\"\(HTMLPage.escape(title))\" class=\"chart\"><title>\(HTMLPage.escape(title))</title>"
        // Axes, the top value and the time span.
        svg += "<line x1=\"\(margin.left)\" y1=\"\(margin.top)\" x2=\"\(margin.left)\" y2=\"\(margin.top + plot.height)\" stroke=\"#8a8886\"/>"
        svg +=
            "<line x1=\"\(margin.left)\" y1=\"\(margin.top + plot.height)\" x2=\"\(margin.left + plot.width)\" y2=\"\(margin.top + plot.height)\" stroke=\"#8a8886\"/>"
        svg += "<text x=\"\(margin.left - 4)\" y=\"\(margin.top + 4)\" font-size=\"11\" text-anchor=\"end\">\(label(top))</text>"
        svg += "<text x=\"\(margin.left - 4)\" y=\"\(margin.top + plot.height)\" font-size=\"11\" text-anchor=\"end\">0</text>"
        svg += "<text x=\"\(margin.left)\" y=\"\(height - 6)\" font-size=\"11\">\(clockTime(span.0))</text>"
        svg += "<text x=\"\(margin.left + plot.width)\" y=\"\(height - 6)\" font-size=\"11\" text-anchor=\"end\">\(clockTime(span.1)) UTC</text>"
        // A legend, then each line: runs of points between gaps.
        var legendX = margin.left
        for line in series {
            svg += "<rect x=\"\(legendX)\" y=\"8\" width=\"10\" height=\"10\" fill=\"\(line.color)\"/>"
            svg += "<text x=\"\(legendX + 14)\" y=\"17\" font-size=\"11\">\(HTMLPage.escape(line.name))</text>"
            legendX += 24 + Double(line.name.count) * 7
            var runs: [[(x: String, y: String)]] = [[]]
            for point in line.points {
                if let value = point.value { runs[runs.count - 1].append((number(x(point.time)), number(y(value)))) } else { runs.append([]) }
            }
            for run in runs where !run.isEmpty {
                svg +=
                    run.count == 1
                    ? "<circle cx=\"\(run[0].x)\" cy=\"\(run[0].y)\" r=\"2.5\" fill=\"\(line.color)\"/>"
                    : "<polyline points=\"\(run.map { "\($0.x),\($0.y)" }.joined(separator: " "))\" fill=\"none\" stroke=\"\(line.color)\" stroke-width=\"1.5\"/>"
            }
        }
        return svg + "</svg>"
    }

    /// The smallest of 1, 2 or 5 times a power of ten at or above `value` (1 when it is 0).
    static func niceCeiling(_ value: Double) -> Double {
        guard value > 0 else { return 1 }
        var power = pow(10, floor(log10(value)))
        if value > 5 * power { power *= 10 } else if value > 2 * power { return 5 * power } else if value > power { return 2 * power }
        return power
    }

    static func label(_ value: Double) -> String {
        value >= 10 || value == value.rounded() ? String(Int(value.rounded())) : String(format: "%.2g", value)
    }

    static func clockTime(_ seconds: Int64) -> String {
        let time = CivilTime(seconds: seconds)
        func two(_ value: Int) -> String { value < 10 ? "0\(value)" : "\(value)" }
        return "\(two(time.hour)):\(two(time.minute)):\(two(time.second))"
    }
}
