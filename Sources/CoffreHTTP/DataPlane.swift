import CoffreAuth
import CoffreCore
import CoffreModel
import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore

/// The audit record being assembled for one request.
struct AuditDraft: Sendable {
    var operationName: String
    var caller: Caller?
    var vault: VaultName?
    var objectId: String?
    var apiVersion: String?
    var accessPolicyMatch: Bool?
    var rbacAuthorized: Bool?
}

/// The Key Vault data plane: authenticate (before the body is read), check the api-version, find the vault, route,
/// authorise, run — and write one audit record per request, failing the request if the record cannot be written.
final class DataPlane: Sendable {
    let services: CoffreServices
    let addressing: Addressing
    let routes: RouteTable
    /// The largest request body accepted (certificate imports are the largest legitimate bodies).
    static let maxBodySize = 4 * 1024 * 1024

    init(services: CoffreServices, addressing: Addressing, routes: RouteTable) {
        self.services = services
        self.addressing = addressing
        self.routes = routes
    }

    func serve(_ request: Request, incoming: IncomingRequest, context: CoffreRequestContext) async throws -> Response {
        let matched = routes.match(incoming.method, incoming.segments)
        return try await audited(request, incoming: incoming, context: context, operation: matched?.0.operation.name) { audit in
            let caller = try await authenticate(request, target: incoming.target)
            audit.caller = caller
            try Self.checkApiVersion(incoming.query["api-version"])
            audit.apiVersion = incoming.query["api-version"]
            let vault = try await services.vaults.get(try vaultName(incoming.target))
            audit.vault = vault.name
            guard let (route, parameters) = matched else {
                throw CoffreError.badParameter(
                    "The operation \(incoming.method) /\(incoming.segments.joined(separator: "/")) is not supported"
                        + (routes.hasPath(incoming.segments) ? " with this method." : "."))
            }
            let url = VaultURL(base: "https://\(incoming.host)")
            let object = parameters["name"].flatMap { name in
                (try? ObjectName(name, kind: route.operation.area.objectKind)).map {
                    RoleScope.ObjectScope(kind: route.operation.area.objectKind, name: $0.key)
                }
            }
            let version = parameters["version"].flatMap { $0.isEmpty ? nil : $0 }
            audit.objectId = object.map { url.object($0.kind, parameters["name"] ?? $0.name, version: version) } ?? url.base
            let assignments = vault.rbacAuthorization ? try await services.roleAssignments.forPrincipal(caller.objectId, in: vault.name) : []
            do {
                try services.authorizer.authorize(caller, route.operation, in: vault, object: object, assignments: assignments)
                if vault.rbacAuthorization { audit.rbacAuthorized = true } else { audit.accessPolicyMatch = true }
            } catch {
                if vault.rbacAuthorization { audit.rbacAuthorized = false } else { audit.accessPolicyMatch = false }
                throw error
            }
            let body = try await request.body.collect(upTo: Self.maxBodySize)
            return try await route.handler(
                DataPlaneRequest(
                    vault: vault, url: url, parameters: parameters, query: incoming.query, body: body, caller: caller,
                    apiVersion: incoming.query["api-version"] ?? ""))
        }
    }

    /// Runs `work` and writes its audit record. With the audit log unavailable, nothing runs (fail closed); a record
    /// that cannot be written turns the response into a 503.
    func audited(
        _ request: Request, incoming: IncomingRequest, context: CoffreRequestContext, operation: String? = nil,
        _ work: (inout AuditDraft) async throws -> Response
    ) async throws -> Response {
        let started = ContinuousClock.now
        var draft = AuditDraft(operationName: operation ?? "Unknown")
        var response: Response
        if services.audit.isAvailable {
            do {
                response = try await work(&draft)
            } catch {
                response = ErrorResponse.from(error).response(challenge: addressing.challenge(for: incoming.target), logger: context.logger)
            }
        } else {
            response = ErrorResponse.from(AuditUnavailable()).response(challenge: nil, logger: context.logger)
        }
        let elapsed = ContinuousClock.now - started
        services.metrics.request(
            operation: draft.operationName, status: Int(response.status.code),
            seconds: Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18)
        let event = AuditEvent(
            time: Date(), resourceId: draft.vault.map { "/vaults/\($0)" } ?? "/server", operationName: draft.operationName,
            operationVersion: draft.apiVersion, status: Int(response.status.code), reason: response.status.reasonPhrase,
            description: "", durationMs: Int(elapsed.components.seconds * 1000 + elapsed.components.attoseconds / 1_000_000_000_000_000),
            callerIpAddress: context.remoteAddress?.ipAddress, correlationId: request.headers[.msClientRequestId],
            caller: draft.caller,
            properties: .init(
                id: draft.objectId ?? "https://\(incoming.host)", requestUri: "https://\(incoming.host)\(request.uri.path)",
                httpStatusCode: Int(response.status.code), clientInfo: request.headers[.userAgent], requestId: context.requestId,
                isAccessPolicyMatch: draft.accessPolicyMatch, isRbacAuthorized: draft.rbacAuthorized))
        do {
            try services.audit.record(event)
        } catch {
            return ErrorResponse.from(AuditUnavailable()).response(challenge: nil, logger: context.logger)
        }
        return response
    }

    /// The caller behind the request's bearer token; a missing or invalid token is a 401 with the challenge.
    func authenticate(_ request: Request, target: Addressing.Target) async throws -> Caller {
        try await authenticate(request, resources: [addressing.resource(for: target)])
    }

    func authenticate(_ request: Request, resources: Set<String>) async throws -> Caller {
        // On UTF-8 bytes: `String.count` would walk the whole token (over a kilobyte) per request.
        guard let header = request.headers[.authorization], header.utf8.count > 7,
            Route.equalIgnoringASCIICase(String(Substring(header.utf8.prefix(7))), "bearer ")
        else {
            throw CoffreError.unauthorized("AKV10000: Request is missing a Bearer or PoP token.")
        }
        return try await services.verifier.verify(
            String(Substring(header.utf8.dropFirst(7))), resources: resources, now: services.clock.now)
    }

    func vaultName(_ target: Addressing.Target) throws -> VaultName {
        switch target {
        case .vault(let name, _): try VaultName(name)
        case .server: addressing.defaultVault
        case .hsm(let name, _): throw CoffreError.vaultNotFound(name)
        }
    }

    /// Every api-version a client sends is accepted (`2016-10-01`, `7.0`…`7.6`, `2025-07-01`, previews); a missing or
    /// malformed one is a 400, as the service answers.
    static func checkApiVersion(_ version: String?) throws {
        guard let version, !version.isEmpty else {
            throw CoffreError.badParameter("The api-version query parameter is required for all requests.")
        }
        guard isApiVersion(Array(version.utf8)) else {
            throw CoffreError.badParameter("The specified version (\(version)) is not recognized.")
        }
    }

    /// `YYYY-MM-DD` or `N.N`, optionally followed by `-preview` and `.N` (checked on bytes: this runs per request).
    static func isApiVersion(_ bytes: [UInt8]) -> Bool {
        let suffix = Array("-preview".utf8)
        var base = bytes[...]
        if let start = (0...max(0, bytes.count - suffix.count)).first(where: { bytes[$0...].starts(with: suffix) }), bytes.count >= suffix.count {
            base = bytes[..<start]
            let rest = bytes[(start + suffix.count)...]
            guard rest.isEmpty || (rest.first == UInt8(ascii: ".") && rest.count > 1 && rest.dropFirst().allSatisfy(isDigit)) else { return false }
        }
        let dated =
            base.count == 10
            && base.enumerated().allSatisfy { index, byte in
                index == 4 || index == 7 ? byte == UInt8(ascii: "-") : isDigit(byte)
            }
        let dots = base.filter { $0 == UInt8(ascii: ".") }.count
        let numbered =
            dots == 1 && base.first != UInt8(ascii: ".") && base.last != UInt8(ascii: ".")
            && base.allSatisfy { isDigit($0) || $0 == UInt8(ascii: ".") }
        return dated || numbered
    }

    static func isDigit(_ byte: UInt8) -> Bool { (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) }
}

extension PermissionArea {
    /// The object kind the area's operations address.
    var objectKind: ObjectKind {
        switch self {
        case .keys: .key
        case .secrets, .storage: .secret
        case .certificates: .certificate
        }
    }
}
