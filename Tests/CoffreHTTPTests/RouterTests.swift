import CoffreCore
import CoffreModel
import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import NIOEmbedded
import Synchronization
import Testing

@testable import CoffreHTTP

@Suite struct RoutePatternTests {
    @Test func literalsMatchInAnyCaseAndParametersTakeOneSegment() {
        let pattern = RoutePattern("subscriptions/{s}/resourceGroups/{g}/providers/Microsoft.KeyVault/vaults/{v}")
        #expect(pattern.matches(["subscriptions", "1", "resourcegroups", "rg", "providers", "microsoft.keyvault", "vaults", "kv"]))
        #expect(pattern.matches(["SUBSCRIPTIONS", "1", "ResourceGroups", "rg", "providers", "Microsoft.KeyVault", "vaults", "kv"]))
        #expect(!pattern.matches(["subscriptions", "1", "resourcegroups", "rg", "providers", "microsoft.storage", "vaults", "kv"]))
        #expect(!pattern.matches(["subscriptions", "", "resourcegroups", "rg", "providers", "microsoft.keyvault", "vaults", "kv"]))
        #expect(!pattern.matches(["subscriptions", "1", "resourcegroups", "rg"]))
    }

    @Test func optionalParametersMayBeEmptyAndEmptyLiteralsMatchDoubleSlashes() {
        let version = RoutePattern("keys/{name}/{version?}/release")
        #expect(version.matches(["keys", "k", "", "release"]))
        #expect(version.matches(["keys", "k", "abc", "release"]))
        let emptyVersion = RoutePattern("keys/{name}//release")
        #expect(emptyVersion.matches(["keys", "k", "", "release"]))
        #expect(!emptyVersion.matches(["keys", "k", "abc", "release"]))
        let rootScope = RoutePattern("/providers/Microsoft.Authorization/roleAssignments")
        #expect(rootScope.matches(["", "providers", "Microsoft.Authorization", "roleAssignments"]))
        #expect(!rootScope.matches(["keys", "providers", "Microsoft.Authorization", "roleAssignments"]))
    }

    @Test func predicatesNarrowParametersAndParametersReadByName() {
        let pattern = RoutePattern("{tenant}/oauth2/token", accepting: ["tenant": { $0 == "adfs" }])
        #expect(pattern.matches(["adfs", "oauth2", "token"]))
        #expect(!pattern.matches(["secrets", "oauth2", "token"]))
        let parameters = RouteParameters(pattern: RoutePattern("keys/{name}/{version?}"), segments: ["keys", "k1", "v1"])
        #expect(parameters["name"] == "k1")
        #expect(parameters["version"] == "v1")
        #expect(parameters["other"] == nil)
    }

    @Test func aRestParameterTakesTheRestOfThePath() {
        let any = RoutePattern("{path*}")
        #expect(any.takesRest && any.matches([""]) && any.matches(["c"]) && any.matches(["c", "d", "", "e"]))
        let under = RoutePattern("files/{rest*}")
        #expect(under.matches(["Files"]) && under.matches(["files", "a", "b"]))
        #expect(!under.matches(["other", "a"]))
        #expect(RouteParameters(pattern: under, segments: ["files", "a", "", "b"])["rest"] == "a//b")
        #expect(RouteParameters(pattern: any, segments: ["c", "d"])["path"] == "c/d")
        #expect(!RoutePattern("files/{name}").takesRest)
    }

    @Test func prefixesMatchTheStartOfAPath() {
        let prefix = RoutePattern("coffre/v1")
        #expect(prefix.isPrefix(of: ["Coffre", "v1", "vaults"]))
        #expect(prefix.isPrefix(of: ["coffre", "v1"]))
        #expect(!prefix.isPrefix(of: ["coffre"]))
        #expect(RoutePattern.prefix("").isPrefix(of: ["anything"]))
        #expect(RoutePattern("").matches([""]))
    }
}

@Suite struct RouteTableTests {
    /// A group whose routes answer their own name, and whose admission records what it was told (so the tests see the
    /// route chosen, the stage that refused a request and the error shape).
    static func group(
        _ name: String, hosts: Set<HostKind> = Set(HostKind.allCases), prefix: String = "", claims: Bool = false, apiVersion: Bool = false,
        errors: any ErrorShape = KeyVaultErrors(), routes: [(HTTPRequest.Method, String)], tenants: Set<String>? = nil
    ) -> RouteGroup<OperationName, String> {
        RouteGroup(
            hosts: hosts, prefix: prefix, claimsUnmatched: claims,
            policy: RoutePolicy(
                authentication: NoAuthentication(), requiresApiVersion: apiVersion, maxBodySize: 16, errors: errors, auditor: nil),
            routes: routes.map { method, pattern in
                Route(
                    method, pattern, OperationName(stringLiteral: "\(name) \(pattern)"),
                    accepting: tenants.map { tenants in ["tenant": { tenants.contains($0) }] } ?? [:]
                ) { request in
                    try JSON.response([
                        "route": "\(name) \(method) \(pattern)", "name": request.parameters["name"] ?? "", "scope": request.scope,
                        "body": String(buffer: request.body),
                    ])
                }
            },
            admit: { _, match in
                guard case .route = match else {
                    guard case .unmatched(let otherMethods) = match else { return name }
                    throw CoffreError.badParameter("\(name) refuses (other methods: \(otherMethods))")
                }
                return name
            })
    }

    static let addressing = Addressing(
        vaultZones: ["vault.localhost"], hsmZones: ["managedhsm.localhost"], publicPort: 8443, defaultVault: try! VaultName("default"),
        authority: "https://localhost:8443")

    static let table = RouteTable(
        addressing: addressing,
        groups: [
            group("health", routes: [(.get, "healthz")]),
            group("token", errors: OAuthErrors(), routes: [(.post, "{tenant}/oauth2/token")], tenants: ["adfs"]),
            group("admin", prefix: "coffre/v1", claims: true, routes: [(.get, "vaults"), (.get, "vaults/{name}")]),
            group("hsm", hosts: [.hsm], claims: true, apiVersion: true, routes: [(.get, "keys/{name}")]),
            group(
                "vault", hosts: [.vault, .server], claims: true, apiVersion: true,
                routes: [
                    (.get, "secrets/{name}/{version?}"), (.get, "secrets/{name}"), (.put, "secrets/{name}"), (.post, "keys/{name}/{version?}/sign"),
                ]),
        ])

    struct Reply {
        var status: HTTPResponse.Status
        var headers: HTTPFields
        var json: [String: Any]
        var route: String? { json["route"] as? String }
        var errorMessage: String? { (json["error"] as? [String: Any])?["message"] as? String ?? json["error_description"] as? String }
    }

    func send(
        _ method: HTTPRequest.Method, _ path: String, host: String = "default.vault.localhost:8443", headers: HTTPFields = [:], body: String = ""
    ) async throws -> Reply {
        let request = Request(
            head: HTTPRequest(method: method, scheme: "https", authority: host, path: path, headerFields: headers),
            body: RequestBody(buffer: ByteBuffer(string: body)))
        let context = CoffreRequestContext(
            source: ApplicationRequestContextSource(channel: NIOAsyncTestingChannel(), logger: Logger(label: "test")))
        let response = await Self.table.respond(to: request, context: context)
        let collected = BodyCollector()
        try await response.body.write(collected)
        let json = (try? JSONSerialization.jsonObject(with: Data(collected.bytes.withLock { $0 }))) as? [String: Any] ?? [:]
        return Reply(status: response.status, headers: response.headers, json: json)
    }

    @Test func restRoutesComeAfterRoutesOfTheRequestsShapeAndServeTheirHostsOnly() async throws {
        let addressing = Addressing(
            vaultZones: ["vault.localhost"], hsmZones: [], blobZones: ["blob.localhost"], publicPort: 8443, defaultVault: try VaultName("default"),
            authority: "https://localhost:8443")
        let table = RouteTable(
            addressing: addressing,
            groups: [
                Self.group("health", hosts: HostKind.keyVault, routes: [(.get, "healthz")]),
                Self.group("blob", hosts: [.blob], routes: [(.get, "{path*}")]),
                Self.group("files", routes: [(.get, "files/{name}"), (.get, "files/{rest*}")]),
            ])
        func route(_ path: String, host: String) -> (group: Int, route: Int?)? {
            let request = Request(
                head: HTTPRequest(method: .get, scheme: "https", authority: host, path: path, headerFields: [:]),
                body: RequestBody(buffer: ByteBuffer()))
            return table.match(IncomingRequest(request, addressing: addressing)).map { ($0.group, $0.route) }
        }
        #expect(route("/healthz", host: "acct.blob.localhost:8443")?.group == 1)
        #expect(route("/c/d/e/", host: "acct.blob.localhost:8443")?.group == 1)
        #expect(route("/", host: "acct.blob.localhost")?.group == 1)
        #expect(route("/healthz", host: "default.vault.localhost")?.group == 0)
        #expect(route("/files/a", host: "localhost")?.route == 0)
        #expect(route("/files/a/b", host: "localhost")?.route == 1)
        #expect(route("/c/d", host: "localhost") == nil)
    }

    @Test func routesAreFoundByMethodPathAndCaseInsensitiveLiterals() async throws {
        #expect(try await send(.get, "/secrets/s?api-version=7.4").route == "vault GET secrets/{name}")
        #expect(try await send(.get, "/Secrets/s/v1?api-version=7.4").route == "vault GET secrets/{name}/{version?}")
        #expect(try await send(.get, "/Secrets/s/v1?api-version=7.4").json["name"] as? String == "s")
        #expect(try await send(.put, "/SECRETS/s?api-version=7.4").route == "vault PUT secrets/{name}")
        #expect(try await send(.post, "/keys/k//sign?api-version=7.4").route == "vault POST keys/{name}/{version?}/sign")
        #expect(try await send(.get, "/healthz").route == "health GET healthz")
    }

    @Test func aTrailingSlashIsIgnoredWhenNothingMatchesWithIt() async throws {
        #expect(try await send(.get, "/healthz/").route == "health GET healthz")
        // With the slash, the optional version matches first (empty).
        #expect(try await send(.get, "/secrets/s/?api-version=7.4").route == "vault GET secrets/{name}/{version?}")
        #expect(try await send(.put, "/secrets/s/?api-version=7.4").route == "vault PUT secrets/{name}")
    }

    @Test func methodOverrideTunnelsThroughPost() async throws {
        let tunnelled = try await send(.post, "/secrets/s?api-version=7.4", headers: [HTTPField.Name("X-HTTP-Method")!: "PUT"])
        #expect(tunnelled.route == "vault PUT secrets/{name}")
    }

    @Test func hostKindsChooseTheGroups() async throws {
        #expect(try await send(.get, "/keys/k?api-version=7.4", host: "pool.managedhsm.localhost:8443").route == "hsm GET keys/{name}")
        // A vault host has no such route: the vault group, which claims the path, refuses it.
        let onVault = try await send(.get, "/keys/k?api-version=7.4")
        #expect(onVault.status == .badRequest)
        #expect(onVault.errorMessage == "vault refuses (other methods: false)")
        #expect(try await send(.get, "/secrets/s?api-version=7.4", host: "localhost:8443").route == "vault GET secrets/{name}")
    }

    @Test func predicatesLetAPathFallThroughToTheClaimingGroup() async throws {
        #expect(try await send(.post, "/adfs/oauth2/token", body: "x").route == "token POST {tenant}/oauth2/token")
        let notTenant = try await send(.post, "/secrets/oauth2/token?api-version=7.4")
        #expect(notTenant.errorMessage == "vault refuses (other methods: true)")
    }

    @Test func theLongestClaimingPrefixRefusesUnmatchedPaths() async throws {
        #expect(try await send(.get, "/coffre/v1/vaults/v").route == "admin GET vaults/{name}")
        let unknown = try await send(.delete, "/coffre/v1/vaults/v")
        #expect(unknown.errorMessage == "admin refuses (other methods: true)")
        #expect(try await send(.get, "/nothing/here?api-version=7.4").errorMessage == "vault refuses (other methods: false)")
    }

    @Test func thePolicyChecksTheApiVersionBeforeAdmissionAndErrorsTakeTheGroupsShape() async throws {
        let missing = try await send(.get, "/secrets/s")
        #expect(missing.status == .badRequest)
        #expect(missing.errorMessage == "The api-version query parameter is required for all requests.")
        #expect(try await send(.get, "/secrets/s?api-version=banana").errorMessage == "The specified version (banana) is not recognized.")
        // The admin group requires none.
        #expect(try await send(.get, "/coffre/v1/vaults").route == "admin GET vaults")
        // The token group writes OAuth errors: a body over its limit is refused in that shape.
        let tooLarge = try await send(.post, "/adfs/oauth2/token", body: String(repeating: "x", count: 17))
        #expect(tooLarge.json["error"] is String)
    }

    @Test func everyResponseCarriesTheRequestIds() async throws {
        let reply = try await send(.get, "/healthz", headers: [.msClientRequestId: "client-1"])
        #expect(reply.headers[.msClientRequestId] == "client-1")
        #expect(reply.headers[.msRequestId]?.isEmpty == false)
    }

    @Test func apiVersionsClientsSendAreRecognised() {
        for version in ["2016-10-01", "7.0", "7.6-preview.2", "2025-07-01", "2025-06-01-preview", "7.4"] {
            #expect(ApiVersion.isApiVersion(Array(version.utf8)), "\(version)")
        }
        for version in ["banana", "7", "7.", ".4", "2025-7-01", "7.4-preview.", "7.4-previewx"] {
            #expect(!ApiVersion.isApiVersion(Array(version.utf8)), "\(version)")
        }
    }
}

@Suite struct GateTests {
    @Test func aSealedServerAnswersHealthSealStatusAndMetricsAndRefusesTheRest() async throws {
        let h = try await Harness()
        let gate = GatedResponder(metrics: MetricsRegistry())
        #expect(try await h.send(.get, "/healthz", via: gate).json["status"] as? String == "sealed")
        #expect(try await h.send(.get, "/readyz", via: gate).status == .serviceUnavailable)
        let refused = try await h.send(.get, "/secrets/s?api-version=7.4", token: try await h.adminToken(), via: gate)
        #expect(refused.status == .serviceUnavailable)
        #expect(refused.errorCode == "ServiceUnavailable")
        #expect(refused.headers[.retryAfter] == "5")
        #expect(try await h.send(.get, "/coffre/v1/seal-status", via: gate).json["sealed"] as? Bool == true)
        // The test channel has no peer address: not a loopback scraper.
        #expect(try await h.send(.get, "/metrics", via: gate).status == .forbidden)

        gate.open(h.responder)
        #expect(try await h.send(.get, "/healthz", via: gate).json["status"] as? String == "ok")
        #expect(try await h.send(.get, "/coffre/v1/seal-status", via: gate).json["sealed"] as? Bool == false)
        _ = try await h.send(.put, "/secrets/s?api-version=7.4", token: try await h.adminToken(), json: ["value": "v"], via: gate)
        #expect(try await h.send(.get, "/secrets/s?api-version=7.4", token: try await h.adminToken(), via: gate).json["value"] as? String == "v")
    }
}

private final class BodyCollector: ResponseBodyWriter {
    let bytes = Mutex<[UInt8]>([])

    func write(_ buffer: ByteBuffer) async throws { bytes.withLock { $0 += Array(buffer.readableBytesView) } }
    func finish(_ trailingHeaders: HTTPFields?) async throws {}
}
