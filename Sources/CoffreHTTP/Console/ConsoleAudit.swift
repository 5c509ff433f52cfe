import CoffreAuth
import CoffreCore
import CoffreDirectory
import CoffreModel
import Foundation
import Hummingbird

/// The console's audit log (`/audit`): the newest records of Coffre's audit trail, filtered by who, what operation,
/// which object, result and time.
///
/// Who may read it is decided as Azure Monitor decides who reads a vault's resource logs: the ARM action
/// `Microsoft.Insights/logs/read` (Reader, Contributor, Owner, and Coffre's administrators hold it). Held on a vault
/// (or its resource group), it shows that vault's records; held on the subscription, every record (the server's own:
/// management, token service, pools). Access policies grant data access only, as in Azure: not the logs.
extension ConsolePages {
    static let readLogs = "Microsoft.Insights/logs/read"
    /// Records per page.
    static let auditPageSize = 100

    var auditRoutes: [Route<OperationName, ConsolePerson?>] {
        [Route(.get, "audit", "ConsoleAuditLog", signedIn(auditLog))]
    }

    func auditLog(_ request: ConsoleRequest, _ person: ConsolePerson) async throws -> Response {
        var query = AuditQuery(resources: try await readableAuditResources(person.caller))
        let filters = request.query
        if let who = Self.filter(filters["who"]) { query.caller = try await services.directory.objectId(of: who) }
        query.operation = Self.filter(filters["operation"])
        query.object = Self.filter(filters["object"])
        query.result = Self.filter(filters["result"]).flatMap(AuditQuery.Result.init(rawValue:))
        query.from = try Self.filter(filters["from"]).map { try Self.minute($0) + ":00.000Z" }
        query.until = try Self.filter(filters["to"]).map { try Self.minute($0) + ":59.999Z" }
        query.before = Self.filter(filters["before"])

        var page = frame("Audit log", person, trail: [])
        page.queryForm(
            action: "/audit",
            fields: ([
                HTMLPage.Field(
                    label: "Who (user principal name, name, client id or object id)", name: "who", type: "text", autocomplete: "off", required: false),
                .init(label: "Operation (SecretGet, VaultAccessPolicySet, …)", name: "operation", type: "text", autocomplete: "off", required: false),
                .init(label: "Object (text of its identifier)", name: "object", type: "text", autocomplete: "off", required: false),
                .init(
                    label: "Result", name: "result", type: "select", autocomplete: "off",
                    options: [("", "Success or failure")] + AuditQuery.Result.allCases.map { ($0.rawValue, $0.rawValue) }),
                .init(label: "From (UTC)", name: "from", type: "datetime-local", autocomplete: "off", required: false),
                .init(label: "To (UTC)", name: "to", type: "datetime-local", autocomplete: "off", required: false),
            ] as [HTMLPage.Field]).map { field in
                var field = field
                field.value = filters[field.name] ?? ""
                return field
            }, button: "Filter")

        guard let reader = services.audit as? any AuditReader else {
            page.paragraph("This server's audit trail cannot be read back.", class: "error")
            return page.response(status: .ok)
        }
        let events: [AuditEvent]
        do {
            events = try reader.newest(matching: query, limit: Self.auditPageSize)
        } catch let error as AuditOnStandardOutput {
            page.paragraph(error.description, class: "error")
            return page.response(status: .ok)
        }
        var names: [String: String] = [:]
        var rows: [[HTMLPage.Cell]] = []
        for event in events {
            let claims = event.identity?.claim ?? [:]
            var who = ""
            if let objectId = claims[AuditEvent.objectIdClaim] {
                if names[objectId] == nil { names[objectId] = await describe(objectId).name }
                who = names[objectId] ?? objectId
            }
            let status = event.stage == nil ? "\(event.resultType) (\(event.properties.httpStatusCode))" : "Started"
            rows.append([
                .text(event.time), .text(event.operationName), event.resultType == "Failure" ? .marked(status, class: "error") : .text(status),
                .text(who), .text(event.properties.id), .text(event.callerIpAddress ?? ""),
            ])
        }
        if rows.isEmpty {
            page.paragraph("No record matches.")
        } else {
            page.table(headers: ["Time (UTC)", "Operation", "Result", "Who", "Object", "Client IP"], rows: rows)
        }
        if events.count == Self.auditPageSize, let oldest = events.last {
            var older = filters.filter { $0.key != "before" && !$0.value.isEmpty }
            older["before"] = oldest.time
            page.link("Older", href: "/audit?" + SignInPages.query(older))
        }
        return page.response(status: .ok)
    }

    /// The resources whose records the caller may read (nil: all of them); a refusal naming the action when none.
    func readableAuditResources(_ caller: Caller) async throws -> Set<String>? {
        let authorization = services.resources.authorization
        let grants = try await authorization.grants(of: caller)
        if try await authorization.allows(grants, Self.readLogs, at: .subscription) { return nil }
        var resources = Set<String>()
        for vault in try await services.vaults.list()
        where try await authorization.allows(
            grants, Self.readLogs, at: .vault(resourceGroup: vault.group, RoleScope(vault: vault.name)), vault: vault)
        {
            resources.insert("/vaults/\(vault.name)")
        }
        guard !resources.isEmpty else {
            throw ResourceManagerError.authorizationFailed(
                objectId: caller.objectId, action: Self.readLogs, scope: "/subscriptions/\(services.resources.subscriptionId)")
        }
        return resources
    }

    /// A filter's text, nil when empty.
    static func filter(_ text: String?) -> String? {
        guard let text = text?.trimmingCharacters(in: .whitespaces), !text.isEmpty else { return nil }
        return text
    }

    /// A `datetime-local` value (`2026-12-07T21:30`), checked, to the minute.
    static func minute(_ text: String) throws -> String {
        let minute = String(text.prefix(16))
        let shape = minute.enumerated().allSatisfy { index, character in
            switch index {
            case 4, 7: character == "-"
            case 10: character == "T"
            case 13: character == ":"
            default: character.isASCII && character.isNumber
            }
        }
        guard minute.count == 16, shape else { throw CoffreError.badParameter("'\(text)' is not a time written 2026-12-07T21:30.") }
        return minute
    }
}
