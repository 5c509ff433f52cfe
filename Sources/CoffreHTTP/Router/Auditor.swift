import CoffreCore
import CoffreModel
import Foundation
import HTTPTypes
import Hummingbird
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
}

/// The draft of one request's audit record, filled in by each stage that learns something (authentication, the
/// group's admission, a handler that names the vault it creates).
final class AuditTrail: Sendable {
    private let draft: Mutex<AuditDraft>

    init(operationName: String) { draft = Mutex(AuditDraft(operationName: operationName)) }

    func note(_ change: (inout AuditDraft) -> Void) { draft.withLock { change(&$0) } }

    var current: AuditDraft { draft.withLock { $0 } }
}

/// Writes one audit record and one metrics sample per request of the groups it audits. With the audit log
/// unavailable nothing runs (fail closed); a record that cannot be written turns the response into a 503.
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
        let host = request.incoming.host
        let event = AuditEvent(
            time: Date(), resourceId: draft.managedHSM.map { "/managedHSMs/\($0)" } ?? draft.vault.map { "/vaults/\($0)" } ?? "/server",
            operationName: draft.operationName,
            operationVersion: draft.apiVersion, status: Int(response.status.code), reason: response.status.reasonPhrase,
            description: "", durationMs: Int(elapsed.components.seconds * 1000 + elapsed.components.attoseconds / 1_000_000_000_000_000),
            callerIpAddress: request.context.remoteAddress?.ipAddress, correlationId: request.headers[.msClientRequestId],
            caller: draft.caller,
            properties: .init(
                id: draft.objectId ?? "https://\(host)", requestUri: "https://\(host)\(request.incoming.path)",
                httpStatusCode: Int(response.status.code), clientInfo: request.headers[.userAgent], requestId: request.context.requestId,
                isAccessPolicyMatch: draft.accessPolicyMatch, isRbacAuthorized: draft.rbacAuthorized))
        do {
            try sink.record(event)
        } catch {
            return ErrorResponse.from(AuditUnavailable()).response(challenge: nil, logger: request.context.logger)
        }
        return response
    }
}
