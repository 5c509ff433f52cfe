import CoffreAuth
import CoffreCore
import CoffreCrypto
import CoffreDirectory
import CoffreHTTP
import CoffreKeyCustody
import CoffreModel
import CoffreServer
import CoffreStorage
import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import NIOEmbedded
import Synchronization
import Testing

/// A whole server (in-memory storage, manual clock) whose responder is called directly: no socket, no TLS.
struct Harness {
    let server: CoffreServer
    let clock: ManualClock
    let responder: CoffreResponder
    let audit = MemoryAuditSink()
    let vaultHost = "default.vault.localhost:8443"

    /// - Parameter hardware: the PKCS#11 token that keeps `-HSM` keys, if any.
    init(hardware: PKCS11Custody? = nil, configure: (inout ServerConfiguration) -> Void = { _ in }) async throws {
        var configuration = ServerConfiguration()
        configure(&configuration)
        configuration = try configuration.validated()
        clock = ManualClock(1_800_000_000)
        let rootKey = AEADKey.generate()
        let state = try await Bootstrap.open(MemoryStorage(), rootKey: rootKey, configuration: configuration, clock: clock)
        server = try await CoffreServer(
            configuration: configuration, state: state, rootKey: rootKey, clock: clock, audit: audit, hardware: hardware)
        responder = server.responder
    }

    /// A token for the admin principal (every permission on the default vault).
    func adminToken(resource: String = "https://vault.localhost:8443") async throws -> String {
        let admin = try #require(try await server.services.principals.get(clientId: server.state.identity.adminClientId))
        return try await server.services.tokens.managedIdentity(for: admin, resource: resource).accessToken
    }

    struct Reply {
        var status: HTTPResponse.Status
        var headers: HTTPFields
        var body: Data

        var json: [String: Any] { (try? JSONSerialization.jsonObject(with: body)) as? [String: Any] ?? [:] }
        var errorCode: String? { (json["error"] as? [String: Any])?["code"] as? String }
        var innerCode: String? { ((json["error"] as? [String: Any])?["innererror"] as? [String: Any])?["code"] as? String }
        var text: String { String(decoding: body, as: UTF8.self) }
    }

    func send(
        _ method: HTTPRequest.Method, _ path: String, host: String? = nil, token: String? = nil, headers: HTTPFields = [:],
        json: Any? = nil, rawBody: String? = nil, via gate: GatedResponder? = nil
    ) async throws -> Reply {
        var fields = headers
        if let token { fields[.authorization] = "Bearer \(token)" }
        var buffer = ByteBuffer()
        if let json {
            fields[.contentType] = "application/json"
            buffer = ByteBuffer(bytes: try JSONSerialization.data(withJSONObject: json))
        } else if let rawBody {
            buffer = ByteBuffer(string: rawBody)
        }
        let request = Request(
            head: HTTPRequest(method: method, scheme: "https", authority: host ?? vaultHost, path: path, headerFields: fields),
            body: RequestBody(buffer: buffer))
        let context = CoffreRequestContext(
            source: ApplicationRequestContextSource(channel: NIOAsyncTestingChannel(), logger: Logger(label: "test")))
        let response =
            if let gate { try await gate.respond(to: request, context: context) } else { try await responder.respond(to: request, context: context) }
        let collector = Collector()
        try await response.body.write(collector)
        return Reply(status: response.status, headers: response.headers, body: Data(collector.bytes.withLock { $0 }))
    }

    /// Sends with the admin token on the default vault.
    func admin(_ method: HTTPRequest.Method, _ path: String, json: Any? = nil, host: String? = nil) async throws -> Reply {
        try await send(method, path, host: host, token: try await adminToken(), json: json)
    }
}

private final class Collector: ResponseBodyWriter {
    let bytes = Mutex<[UInt8]>([])

    func write(_ buffer: ByteBuffer) async throws { bytes.withLock { $0 += Array(buffer.readableBytesView) } }
    func finish(_ trailingHeaders: HTTPFields?) async throws {}
}
