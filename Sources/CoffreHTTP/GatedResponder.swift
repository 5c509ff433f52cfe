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

/// The responder of a server that may start sealed: until the root key is available it answers health checks, the
/// seal status and key shares, and 503 to everything else; then it forwards every request to the full responder.
public final class GatedResponder: HTTPResponder {
    public typealias Context = CoffreRequestContext

    private let inner = Mutex<CoffreResponder?>(nil)
    private let unsealerBox = Mutex<(any Unsealer)?>(nil)
    private let metrics: MetricsRegistry

    public init(metrics: MetricsRegistry) { self.metrics = metrics }

    /// Installs what key shares are given to (servers that start sealed).
    public func setUnsealer(_ unsealer: any Unsealer) { unsealerBox.withLock { $0 = unsealer } }

    private var unsealer: (any Unsealer)? { unsealerBox.withLock { $0 } }

    /// Opens the gate: from now on every request reaches `responder`.
    public func open(_ responder: CoffreResponder) { inner.withLock { $0 = responder } }

    public var isOpen: Bool { inner.withLock { $0 != nil } }

    public func respond(to request: Request, context: Context) async throws -> Response {
        let path = request.uri.path
        if path == "/metrics" {
            // Metrics hold operation names and counts only, yet they describe usage: loopback scrapers only.
            guard context.isLoopback else {
                return ErrorResponse.from(CoffreError.forbidden(innerCode: "Forbidden", message: "Metrics are served to loopback callers only."))
                    .response(challenge: nil, logger: context.logger)
            }
            return Response(
                status: .ok, headers: [.contentType: "text/plain; version=0.0.4"],
                body: .init(byteBuffer: ByteBuffer(string: metrics.render(sealed: !isOpen))))
        }
        if path == "/coffre/v1/seal-status" || path == "/coffre/v1/unseal" {
            return try await sealEndpoint(request, context: context)
        }
        if let responder = inner.withLock({ $0 }) {
            // Other requests wait on crypto workers or the storage writer and come back to their connection's loop;
            // a GET is answered from the cache or a read on the loop it started on, and the switch would cost it more
            // than it saves.
            guard request.method != .get else { return try await responder.respond(to: request, context: context) }
            return try await withTaskExecutorPreference(EventLoopExecutor(context.eventLoop)) {
                try await responder.respond(to: request, context: context)
            }
        }
        if path == "/healthz" { return try JSON.response(["status": "sealed"]) }
        if path == "/readyz" {
            return try JSON.response(["status": "sealed"], status: .serviceUnavailable, headers: [.retryAfter: "5"])
        }
        return ErrorResponse.from(CoffreError.sealed).response(challenge: nil, logger: context.logger)
    }

    struct Share: Decodable { var share: String }

    private func sealEndpoint(_ request: Request, context: Context) async throws -> Response {
        guard let unsealer else {
            return try JSON.response(SealStatus(sealed: !isOpen, type: "keyfile", threshold: nil, progress: 0))
        }
        do {
            switch request.method {
            case .get:
                return try JSON.response(unsealer.status)
            case .post:
                let body = try await request.body.collect(upTo: 64 * 1024)
                let share = try JSON.decode(Share.self, from: body).share
                guard let bytes = Base64.decode(share) else {
                    throw CoffreError.badParameter("The key share is not base64.")
                }
                return try JSON.response(try await unsealer.submit(share: bytes))
            default:
                throw CoffreError.badParameter("Use GET /coffre/v1/seal-status or POST /coffre/v1/unseal {\"share\": …}.")
            }
        } catch {
            return ErrorResponse.from(error).response(challenge: nil, logger: context.logger)
        }
    }
}
