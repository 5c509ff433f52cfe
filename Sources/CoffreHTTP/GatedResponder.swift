import CoffreCore
import CoffreCrypto
import CoffreEventLoops
import CoffreModel
import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import Synchronization

/// Progress of an unseal with key shares.
public struct SealStatus: Codable, Sendable, Equatable {
    public var sealed: Bool
    public var type: String
    public var threshold: Int?
    public var progress: Int

    public init(sealed: Bool, type: String, threshold: Int?, progress: Int) {
        self.sealed = sealed
        self.type = type
        self.threshold = threshold
        self.progress = progress
    }
}

/// What unseals a sealed server (the server's composition root implements it).
public protocol Unsealer: Sendable {
    var status: SealStatus { get }
    /// Adds one key share; when enough are in, unseals (installing the full responder) and returns the new status.
    func submit(share: [UInt8]) async throws -> SealStatus
}

/// The responder of a server that may start sealed: until the root key is available its route table holds the seal
/// endpoints, metrics and health (answering "sealed"), and refuses everything else with 503; once unsealed, the table
/// holds the seal endpoints and metrics in front of every route group of the full responder.
public final class GatedResponder: HTTPResponder {
    public typealias Context = CoffreRequestContext

    private let seal: SealEndpoints
    private let table: Mutex<RouteTable>

    public init(metrics: MetricsRegistry) {
        seal = SealEndpoints(metrics: metrics)
        table = Mutex(RouteTable(addressing: nil, groups: [seal.group, seal.pages, SealEndpoints.sealedConsole, SealEndpoints.sealedServer]))
    }

    /// Installs what key shares are given to (servers that start sealed).
    public func setUnsealer(_ unsealer: any Unsealer) { seal.unsealer.withLock { $0 = unsealer } }

    /// Opens the gate: from now on every request reaches the responder's routes.
    public func open(_ responder: CoffreResponder) {
        let unsealed = RouteTable(addressing: responder.addressing, groups: [seal.group, seal.pages] + responder.groups)
        table.withLock { $0 = unsealed }
        seal.isOpen.withLock { $0 = true }
    }

    public var isOpen: Bool { seal.isOpen.withLock { $0 } }

    public func respond(to request: Request, context: Context) async throws -> Response {
        let table = table.withLock { $0 }
        // Requests other than GET wait on crypto workers or the storage writer and come back to their connection's loop;
        // a GET is answered from the cache or a read on the loop it started on, and the switch would cost it more than
        // it saves.
        guard request.method != .get, isOpen else { return await table.respond(to: request, context: context) }
        return await withTaskExecutorPreference(EventLoopExecutor(context.eventLoop)) {
            await table.respond(to: request, context: context)
        }
    }
}

/// The endpoints that answer sealed or not, without a token: the seal status, key shares, and metrics.
final class SealEndpoints: Sendable {
    let metrics: MetricsRegistry
    let unsealer = Mutex<(any Unsealer)?>(nil)
    let isOpen = Mutex(false)

    init(metrics: MetricsRegistry) { self.metrics = metrics }

    var group: RouteGroup<OperationName, Void> {
        RouteGroup(
            hosts: Set(HostKind.allCases),
            policy: .open(),
            routes: [
                Route(.get, "metrics", "Metrics", metricsText),
                Route(.get, "coffre/v1/seal-status", "SealStatus") { [self] _ in try JSON.response(status) },
                Route(.post, "coffre/v1/unseal", "Unseal", submitShare),
            ],
            admit: { _, _ in })
    }

    /// Metrics hold operation names and counts only, yet they describe usage: loopback scrapers only.
    @Sendable func metricsText(_ request: RouteRequest<Void>) throws -> Response {
        guard request.context.isLoopback else {
            throw CoffreError.forbidden(.notAllowed, message: "Metrics are served to loopback callers only.")
        }
        return Response(
            status: .ok, headers: [.contentType: "text/plain; version=0.0.4"],
            body: .init(byteBuffer: ByteBuffer(string: metrics.render(sealed: !isOpen.withLock { $0 }))))
    }

    var status: SealStatus {
        unsealer.withLock { $0 }?.status ?? SealStatus(sealed: !isOpen.withLock { $0 }, type: "keyfile", threshold: nil, progress: 0)
    }

    struct Share: Decodable { var share: String }

    @Sendable func submitShare(_ request: RouteRequest<Void>) async throws -> Response {
        guard let unsealer = unsealer.withLock({ $0 }) else { return try JSON.response(status) }
        guard let bytes = Base64.decode(try request.decode(Share.self).share) else {
            throw CoffreError.badParameter("The key share is not base64.")
        }
        return try JSON.response(try await unsealer.submit(share: bytes))
    }

    /// A sealed server's health, and its refusal of everything else (503, `Retry-After`).
    static let sealedServer = RouteGroup<OperationName, Void>(
        hosts: Set(HostKind.allCases), claimsUnmatched: true,
        policy: .open(),
        routes: [
            Route(.get, "healthz", "Health") { _ in try JSON.response(["status": "sealed"]) },
            Route(.get, "readyz", "Ready") { _ in try JSON.response(["status": "sealed"], status: .serviceUnavailable, headers: [.retryAfter: "5"]) },
        ],
        admit: { _, match in
            guard case .route = match else { throw CoffreError.sealed }
        })
}
