import CoffreCore
import CoffreHTTP
import CoffreModel
import CoffreServer
import Foundation
import HTTPTypes
import Testing

/// Time travel and fault injection through the management API and the data plane's fault stage (no socket).
@Suite struct DevelopmentControlsTests {
    static func development() async throws -> Harness { try await Harness { $0.development = true } }

    @Test func withoutDevModeTheControlsAreRefused() async throws {
        let h = try await Harness()
        for (method, path) in [(HTTPRequest.Method.get, "clock"), (.post, "clock/shift"), (.delete, "clock"), (.get, "faults"), (.post, "faults")] {
            let reply = try await h.admin(method, "/coffre/v1/\(path)", json: ["seconds": 60, "status": 503])
            #expect(reply.status == .forbidden, "\(path)")
            #expect(reply.innerCode == "DevelopmentModeRequired", "\(path)")
        }
        #expect(h.server.services.development == nil)
    }

    @Test func onlyAdministratorsUseThem() async throws {
        let h = try await Self.development()
        #expect(try await h.send(.get, "/coffre/v1/clock", host: "localhost:8443").status == .unauthorized)
    }

    @Test func aFaultAnswersBeforeTheRequestHasAnyEffect() async throws {
        let h = try await Self.development()
        let added = try await h.admin(.post, "/coffre/v1/faults", json: ["operation": "SecretSet", "status": 503, "retryAfter": 2, "count": 1])
        #expect(added.status == .created)
        #expect(added.json["id"] as? String == "f1")
        let failed = try await h.admin(.put, "/secrets/s?api-version=7.4", json: ["value": "v"])
        #expect(failed.status == .serviceUnavailable)
        #expect(failed.errorCode == "ServiceUnavailable")
        #expect(failed.headers[.retryAfter] == "2")
        #expect(try await h.admin(.get, "/secrets/s?api-version=7.4").errorCode == "SecretNotFound")
        #expect(try await h.admin(.put, "/secrets/s?api-version=7.4", json: ["value": "v"]).status == .ok)
        // The management API is never faulted, and the audit log names the faulted request.
        let listed = try await h.admin(.get, "/coffre/v1/faults")
        #expect(listed.text.contains("\"hits\":1"))
        #expect(h.audit.recorded.contains { $0.operationName == "SecretSet" && $0.properties.httpStatusCode == 503 })
    }

    @Test(arguments: [(429, "Throttled"), (500, "InternalServerError"), (503, "ServiceUnavailable")])
    func faultsUseKeyVaultsErrorCodes(status: Int, code: String) async throws {
        let h = try await Self.development()
        _ = try await h.admin(.post, "/coffre/v1/faults", json: ["vault": "default", "status": status])
        let reply = try await h.admin(.get, "/secrets?api-version=7.4")
        #expect(Int(reply.status.code) == status)
        #expect(reply.errorCode == code)
        #expect(reply.headers[.retryAfter] == nil)
        #expect(try await h.admin(.delete, "/coffre/v1/faults").status == .ok)
        #expect(try await h.admin(.get, "/secrets?api-version=7.4").status == .ok)
    }

    @Test func badFaultsAreRefusedClearly() async throws {
        let h = try await Self.development()
        #expect(try await h.admin(.post, "/coffre/v1/faults", json: ["status": 418]).errorCode == "BadParameter")
        #expect(try await h.admin(.post, "/coffre/v1/faults", json: ["operation": "SecretFetch", "status": 503]).errorCode == "BadParameter")
        #expect(try await h.admin(.post, "/coffre/v1/faults", json: ["vault": "nowhere", "status": 503]).errorCode == "VaultNotFound")
        #expect(try await h.admin(.delete, "/coffre/v1/faults/f9").errorCode == "FaultNotFound")
    }

    @Test func datesInAnswersFollowTheVaultsClock() async throws {
        let h = try await Self.development()
        let shifted = try await h.admin(.post, "/coffre/v1/clock/shift", json: ["seconds": 10 * 86_400, "vault": "default"])
        #expect(shifted.status == .ok)
        let created = try await h.admin(.put, "/secrets/s?api-version=7.4", json: ["value": "v"])
        let attributes = try #require(created.json["attributes"] as? [String: Any])
        #expect(attributes["created"] as? Int == 1_800_000_000 + 10 * 86_400)
        #expect(try await h.admin(.post, "/coffre/v1/clock/shift", json: ["seconds": 60, "vault": "nowhere"]).errorCode == "VaultNotFound")
    }

    @Test func scheduledPurgeHappensWhenTheClockReachesIt() async throws {
        let h = try await Self.development()
        _ = try await h.admin(.put, "/secrets/s?api-version=7.4", json: ["value": "v"])
        let deleted = try await h.admin(.delete, "/secrets/s?api-version=7.4")
        let purgeDate = try #require(deleted.json["scheduledPurgeDate"] as? Int)
        #expect(try await h.server.sweeper.sweep() == 0)
        let set = try await h.admin(.put, "/coffre/v1/clock", json: ["time": purgeDate, "vault": "default"])
        #expect((set.json["vaults"] as? [[String: Any]])?.first?["unixTime"] as? Int == purgeDate)
        #expect(try await h.server.sweeper.sweep() == 1)
        #expect(try await h.admin(.get, "/deletedsecrets/s?api-version=7.4").errorCode == "SecretNotFound")
    }

    @Test func tokensStayOnRealTime() async throws {
        let h = try await Self.development()
        _ = try await h.admin(.put, "/coffre/v1/clock", json: ["time": "2100-01-01T00:00:00Z"])
        let shown = try await h.admin(.get, "/coffre/v1/clock")
        #expect((shown.json["server"] as? [String: Any])?["now"] as? String == "2100-01-01T00:00:00Z")
        // A token issued on real time is still valid two generations later.
        #expect(try await h.admin(.get, "/secrets?api-version=7.4").status == .ok)
        let reset = try await h.admin(.delete, "/coffre/v1/clock")
        #expect((reset.json["server"] as? [String: Any])?["offsetSeconds"] as? Int == 0)
    }
}
