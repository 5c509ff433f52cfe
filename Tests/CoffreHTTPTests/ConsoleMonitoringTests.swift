import CoffreModel
import CoffreServer
import Foundation
import HTTPTypes
import Testing

@testable import CoffreCore
@testable import CoffreHTTP

/// The console's audit log, metrics charts and seal status through the router.
@Suite struct ConsoleMonitoringTests {
    typealias Browser = SignInTests.Browser

    enum Scope {
        case vault, subscription
    }

    /// ivy (secrets list and get on the default vault), holding `role` on the default vault or the subscription, signed in.
    func signedIn(role: String?, on scope: Scope = .vault) async throws -> (Harness, Browser) {
        var (h, browser) = try await ConsoleTests().setUp(secrets: ["list", "get"])
        if let role { try await assign(h, role, on: scope) }
        _ = try await ConsoleTests().signIn(&browser)
        return (h, browser)
    }

    func assign(_ h: Harness, _ role: String, on scope: Scope) async throws {
        let path = scope == .vault ? "/vaults/default" : "/subscriptions/\(h.server.services.resources.subscriptionId)"
        let assigned = try await h.admin(
            .post, "/coffre/v1/roleassignments", json: ["role": role, "assignee": "ivy@example.test", "scope": path], host: SignInTests.authority)
        #expect(assigned.status == .created, "\(assigned.text)")
    }

    @Test func theAuditLogIsForThoseWhoMayReadTheVaultsLogs() async throws {
        var (h, browser) = try await signedIn(role: nil)
        let refused = try await browser.send(.get, "/audit")
        #expect(refused.status == .forbidden && refused.text.contains("&#39;Microsoft.Insights/logs/read&#39;"))
        // Key Vault Contributor manages the vault but does not read its logs, as in Azure.
        try await assign(h, "Key Vault Contributor", on: .vault)
        #expect(try await browser.send(.get, "/audit").status == .forbidden)
        try await assign(h, "Reader", on: .vault)
        let page = try await browser.send(.get, "/audit")
        #expect(page.status == .ok && page.text.contains("<form method=\"get\" action=\"/audit\""))
        // The vault's records only: not the management API's (the server's), which need the subscription.
        #expect(page.text.contains("SecretSet") && !page.text.contains("RoleAssignmentCreate"))
        try await assign(h, "Reader", on: .subscription)
        #expect(try await browser.send(.get, "/audit").text.contains("RoleAssignmentCreate"))
    }

    @Test func aRevealIsFoundByWhoWhatObjectResultAndTime() async throws {
        var (h, browser) = try await signedIn(role: "Owner", on: .subscription)
        let secret = try await browser.send(.get, "/vaults/default/secrets/db-password")
        let csrf = try #require(Browser.hidden("csrf", in: secret.text))
        #expect(try await browser.send(.post, "/vaults/default/secrets/db-password/reveal", form: ["csrf": csrf, "version": ""]).status == .ok)
        _ = try await h.admin(.get, "/secrets/db-password?api-version=7.4") // the administrator's read: another caller

        let revealedAt = try #require(h.audit.recorded.last { $0.properties.requestUri.hasSuffix("/reveal") && $0.stage == nil })
        let found = try await browser.send(.get, "/audit?who=ivy%40example.test&operation=secretget&object=db-password&result=Success")
        #expect(found.status == .ok && found.text.contains("<td>SecretGet</td>") && found.text.contains("<td>ivy@example.test</td>"))
        #expect(found.text.components(separatedBy: "<td>SecretGet</td>").count == 2, "one record: ivy's reveal, not the administrator's read")
        #expect(found.text.contains("value=\"ivy@example.test\""), "the filters stay filled in")
        // The page holds the record's time; a range after it finds nothing, one around it finds it.
        #expect(found.text.contains(revealedAt.time))
        let minute = String(revealedAt.time.prefix(16))
        let around = try await browser.send(.get, "/audit?operation=SecretGet&who=ivy%40example.test&from=\(minute)&to=\(minute)")
        #expect(around.text.components(separatedBy: "<td>SecretGet</td>").count == 2)
        let later = try await browser.send(.get, "/audit?operation=SecretGet&from=2099-01-01T00%3A00")
        #expect(later.text.contains("No record matches."))
        #expect(try await browser.send(.get, "/audit?from=yesterday").status == .badRequest)
        // Failures: a reveal refused (no such version).
        _ = try await browser.send(
            .post, "/vaults/default/secrets/db-password/reveal", form: ["csrf": csrf, "version": "0123456789abcdef0123456789abcdef"])
        let failures = try await browser.send(.get, "/audit?result=Failure&operation=SecretGet")
        #expect(failures.text.contains("Failure (404)") && !failures.text.contains("Success (200)"))
    }

    @Test func theFileTrailIsReadNewestFirstAcrossChunks() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("audit-\(UUID().uuidString).log").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        let sink = try FileAuditSink(path: path)
        let base = Date(timeIntervalSince1970: 1_800_000_000)
        for index in 0..<3000 {
            let properties = AuditEvent.Properties(
                id: "https://default.vault.localhost:8443/secrets/s-\(index)", requestUri: "/secrets/s-\(index)",
                httpStatusCode: index % 10 == 0 ? 403 : 200,
                clientInfo: "test", requestId: "\(index)", isAccessPolicyMatch: true, isRbacAuthorized: nil)
            try sink.record(
                AuditEvent(
                    time: base.addingTimeInterval(Double(index)), resourceId: "/vaults/default",
                    operationName: index % 2 == 0 ? "SecretGet" : "SecretSet",
                    operationVersion: "7.4", status: properties.httpStatusCode, reason: "OK", description: "", durationMs: 1, callerIpAddress: nil,
                    correlationId: nil, caller: nil, properties: properties))
        }
        #expect(try FileManager.default.attributesOfItem(atPath: path)[.size] as? Int ?? 0 > 2 * AuditFileReader.chunk)
        let newest = try sink.newest(matching: AuditQuery(operation: "secretget", result: .failure), limit: 50)
        #expect(newest.count == 50 && newest.first?.properties.id.hasSuffix("/s-2990") == true)
        #expect(zip(newest, newest.dropFirst()).allSatisfy { $0.time > $1.time })
        let early = try sink.newest(matching: AuditQuery(object: "/s-7", until: AuditEvent.timestamp(base.addingTimeInterval(100))), limit: 100)
        #expect(early.map(\.properties.requestId) == ["79", "78", "77", "76", "75", "74", "73", "72", "71", "70", "7"])
        let range = try sink.newest(matching: AuditQuery(from: AuditEvent.timestamp(base.addingTimeInterval(2995))), limit: 100)
        #expect(range.count == 5)
        #expect(throws: AuditOnStandardOutput.self) { try FileAuditSink(path: "-").newest(matching: AuditQuery(), limit: 1) }
    }

    @Test func chartsOfTheLastHourForThoseWhoMayReadMetrics() async throws {
        var (h, browser) = try await signedIn(role: "Owner", on: .vault)
        let refused = try await browser.send(.get, "/monitoring")
        #expect(refused.status == .forbidden && refused.text.contains("&#39;Microsoft.Insights/metrics/read&#39;"))
        try await assign(h, "Reader", on: .subscription)
        let empty = try await browser.send(.get, "/monitoring")
        #expect(empty.status == .ok && empty.text.contains("No samples yet"))

        let metrics = h.server.services.metrics
        metrics.sample(at: h.clock.now)
        for _ in 0..<10 { _ = try await h.admin(.get, "/secrets/db-password?api-version=7.4") }
        _ = try await h.admin(.get, "/secrets/missing?api-version=7.4")
        h.clock.advance(seconds: 5)
        metrics.sample(at: h.clock.now)
        h.clock.advance(seconds: 5)
        let page = try await browser.send(.get, "/monitoring")
        #expect(page.status == .ok && page.text.components(separatedBy: "<svg ").count == 5)
        for title in ["Requests", "Latency", "Errors", "Cryptographic operations"] { #expect(page.text.contains("<title>\(title)</title>")) }
        #expect(page.text.contains("<polyline points=") && page.text.contains("p99"))
        ConsoleSecurityTests.checkLockedDown(page, "/monitoring")

        let intervals = MetricsHistory.intervals(metrics.history.all)
        #expect(intervals.count == 1)
        #expect(intervals[0].requestsPerSecond >= 11.0 / 5 && intervals[0].clientErrorsPerSecond >= 1.0 / 5)
        #expect((intervals[0].p50 ?? 1) <= (intervals[0].p99 ?? 0))
    }

    @Test func quantilesAndScalesOfTheCharts() {
        // 100 requests: 50 in the first bucket (≤ 0.5 ms), 50 in the second (0.5–1 ms).
        var counts = [UInt64](repeating: 0, count: MetricsRegistry.buckets.count + 1)
        counts[0] = 50
        counts[1] = 50
        #expect(MetricsHistory.quantile(0.5, counts) == 0.0005)
        #expect(abs((MetricsHistory.quantile(0.9, counts) ?? 0) - 0.0009) < 1e-12)
        #expect(MetricsHistory.quantile(0.5, [UInt64](repeating: 0, count: counts.count)) == nil)
        #expect([0, 0.03, 1, 1.5, 3, 7, 420].map(ConsolePages.niceCeiling) == [1, 0.05, 1, 2, 5, 10, 500])
    }

    @Test func theSealStatusPageAnswersSealedOrNot() async throws {
        let h = try await Harness()
        let gate = GatedResponder(metrics: MetricsRegistry())
        let home = try await h.send(.get, "/", host: SignInTests.authority, via: gate)
        #expect(home.status == .seeOther && home.headers[.location] == "/seal")
        let sealed = try await h.send(.get, "/seal", host: SignInTests.authority, via: gate)
        #expect(sealed.status == .ok && sealed.text.contains("Sealed") && sealed.text.contains("nothing to enter"))
        ConsoleSecurityTests.checkLockedDown(sealed, "/seal")
        // A form posted without the page's token changes nothing.
        let forged = try await h.send(
            .post, "/seal", host: SignInTests.authority, headers: [.contentType: "application/x-www-form-urlencoded"], rawBody: "share=AAAA",
            via: gate)
        #expect(forged.status == .forbidden)

        gate.open(h.responder)
        let unsealed = try await h.send(.get, "/seal", host: SignInTests.authority, via: gate)
        #expect(unsealed.status == .ok && unsealed.text.contains("Unsealed") && !unsealed.text.contains("name=\"share\""))
        #expect(try await h.send(.get, "/", host: SignInTests.authority, via: gate).headers[.location] == "/signin?return=%2F")
    }
}
