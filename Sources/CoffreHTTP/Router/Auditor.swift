import CoffreCore
import CoffreModel
import Foundation
import HTTPTypes
import Hummingbird
import Logging
import Synchronization

/// The audit record being assembled for one request.
struct AuditDraft: Sendable {
    var operationName: String
    var caller: Caller?
    var vault: VaultName?
    var managedHSM: ManagedHSMName?
    var objectId: String?
    var apiVersion: String?
    var accessPolicyMatch: Bool?
    var rbacAuthorized: Bool?
    /// Whether the request's own record (before its handler ran) was written.
    var requestRecorded = false
}

/// The draft of one request's audit record, filled in by each stage that learns something (authentication, the
/// group's admission, a handler that names the vault it creates).
final class AuditTrail: Sendable {
    private let draft: Mutex<AuditDraft>

    init(operationName: String) { draft = Mutex(AuditDraft(operationName: operationName)) }

    func note(_ change: (inout AuditDraft) -> Void) { draft.withLock { change(&$0) } }

    var current: AuditDraft { draft.withLock { $0 } }
}

/// Writes the audit records and one metrics sample per request of the groups it audits. With the audit log unavailable
/// nothing runs (fail closed). A request that may change something is recorded before its handler runs
/// (``recordRequest(_:)``): if that record cannot be written the handler does not run, so the client's retry cannot make
/// a duplicate; once it is written, the change has its record even if the process dies before the answer. The outcome's
/// record follows: a read whose outcome cannot be recorded is answered 503 (nothing unaudited leaves), a change is
/// answered as it happened (its request record stands, and a 503 would invite a retry that repeats it).
struct Auditor: Sendable {
    let sink: any AuditSink
    let metrics: MetricsRegistry

    /// Runs `work` (which answers failures in its group's error shape) and records its outcome.
    func audited(_ request: RouteRequest<Void>, operation: String, _ work: (RouteRequest<Void>) async -> Response) async -> Response {
        let started = ContinuousClock.now
        let trail = request.audit ?? AuditTrail(operationName: operation)
        var response: Response
        if sink.isAvailable {
            response = await work(request)
        } else {
            response = ErrorResponse.from(AuditUnavailable()).response(challenge: nil, logger: request.context.logger)
        }
        let elapsed = ContinuousClock.now - started
        let draft = trail.current
        metrics.request(
            operation: draft.operationName, status: Int(response.status.code),
            seconds: Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18)
        do {
            try sink.record(event(request, draft, status: Int(response.status.code), reason: response.status.reasonPhrase, elapsed: elapsed))
        } catch {
            guard draft.requestRecorded else {
                return ErrorResponse.from(AuditUnavailable()).response(challenge: nil, logger: request.context.logger)
            }
            request.context.logger.error("The audit log failed after a change was made; its request record stands.")
        }
        return response
    }

    /// Writes the record of a request that may change something, before its handler runs; throws `AuditUnavailable`
    /// (503, and the handler does not run) when it cannot be written.
    func recordRequest(_ request: RouteRequest<Void>) throws {
        guard let trail = request.audit else { return }
        var event = event(request, trail.current, status: 0, reason: "", elapsed: .zero)
        event.resultType = "Started"
        event.stage = "request"
        try sink.record(event)
        trail.note { $0.requestRecorded = true }
    }

    /// Whether a request may change something, and so is recorded before it runs: every method but GET and HEAD, unless
    /// its operation changes nothing (sign, verify, encrypt, decrypt, wrap, unwrap), whose result, as a read's, leaves
    /// only once its outcome is recorded. One record instead of two is a tenth of an ES256 sign's cost.
    static func recordsBeforehand(_ method: HTTPRequest.Method, _ operation: some RouteOperation) -> Bool {
        method != .get && method != .head && operation.mayChange
    }

    private func event(_ request: RouteRequest<Void>, _ draft: AuditDraft, status: Int, reason: String, elapsed: Duration) -> AuditEvent {
        let host = request.incoming.host
        return AuditEvent(
            time: Date(), resourceId: draft.managedHSM.map { "/managedHSMs/\($0)" } ?? draft.vault.map { "/vaults/\($0)" } ?? "/server",
            operationName: draft.operationName,
            operationVersion: draft.apiVersion, status: status, reason: reason,
            description: "", durationMs: Int(elapsed.components.seconds * 1000 + elapsed.components.attoseconds / 1_000_000_000_000_000),
            callerIpAddress: request.context.remoteAddress?.ipAddress, correlationId: request.headers[.msClientRequestId],
            caller: draft.caller,
            properties: .init(
                id: draft.objectId ?? "https://\(host)", requestUri: "https://\(host)\(request.incoming.path)",
                httpStatusCode: status, clientInfo: request.headers[.userAgent], requestId: request.context.requestId,
                isAccessPolicyMatch: draft.accessPolicyMatch, isRbacAuthorized: draft.rbacAuthorized))
    }
}
