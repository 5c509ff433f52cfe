import CoffreAuth
import CoffreCertificates
import CoffreCore
import CoffreCrypto
import CoffreModel
import Foundation
import HTTPTypes
import Hummingbird

/// The console's certificate views: a version's subject, names, thumbprints and chain; a vault's expiry timeline; and
/// a certificate's pending operation (cancel, delete).
extension ConsolePages {
    var certificateRoutes: [Route<OperationName, ConsolePerson?>] {
        [
            Route(.get, "vaults/{vault}/expiry", "ConsoleExpiry", signedIn(expiry)),
            Route(.get, "vaults/{vault}/certificates/{name}/pending", "CertificatePendingGet", signedIn(pending)),
            Route(.post, "vaults/{vault}/certificates/{name}/pending/cancel", "CertificatePendingUpdate", signedIn(cancelPending)),
            Route(.post, "vaults/{vault}/certificates/{name}/pending/delete", "CertificatePendingDelete", signedIn(deletePending)),
        ]
    }

    /// A certificate version's details and its chain, read from the DER the vault holds.
    func certificateDetails(_ page: inout HTMLPage, _ certificate: CertificateVersion) throws {
        let chain = try ([certificate.cer] + certificate.chain).map { encoded in
            guard let der = Base64.decode(encoded) else { throw CoffreError.badParameter("A stored certificate is not base64.") }
            return try CertificateInfo(der: der)
        }
        guard let leaf = chain.first else { return }
        let names = leaf.subjectAlternativeNames
        page.subheading("Certificate")
        page.properties([
            ("Subject", leaf.subject), ("Issuer", leaf.issuer + (leaf.isSelfSigned ? " (self-signed)" : "")),
            ("Subject alternative names", Self.alternativeNames(names)), ("Serial number", leaf.serialNumberHex),
            ("Valid from", Self.date(Int64(leaf.notBefore.timeIntervalSince1970))),
            ("Valid until", Self.date(Int64(leaf.notAfter.timeIntervalSince1970))), ("Public key", Self.keyDescription(leaf.keyType)),
            ("Key usage", leaf.keyUsage.map(\.rawValue).joined(separator: ", ")),
            ("Extended key usage", leaf.extendedKeyUsages.joined(separator: ", ")),
            ("Certificate authority", leaf.isCertificateAuthority ? "yes" : "no"),
            ("Thumbprint (SHA-1)", Hex.encode(leaf.sha1Thumbprint).uppercased()),
            ("Thumbprint (SHA-256)", Hex.encode(leaf.sha256Thumbprint).uppercased()),
        ])
        page.subheading("Chain")
        page.table(
            headers: ["", "Subject", "Issuer", "Valid until", "Thumbprint (SHA-1)"],
            rows: chain.enumerated().map { index, info in
                [
                    .text(index == 0 ? "Certificate" : info.isSelfSigned ? "Root" : "Issuer \(index)"), .text(info.subject), .text(info.issuer),
                    .text(Self.date(Int64(info.notAfter.timeIntervalSince1970))), .text(Hex.encode(info.sha1Thumbprint).uppercased()),
                ]
            })
        page.subheading("Chain (PEM)")
        page.preformatted(([certificate.cer] + certificate.chain).map { Self.pem($0, label: "CERTIFICATE") }.joined(separator: "\n"), id: "chain")
    }

    static func alternativeNames(_ names: SubjectAlternativeNamesSpec) -> String {
        (names.dnsNames.map { "DNS:" + $0 } + names.emails.map { "email:" + $0 } + names.userPrincipalNames.map { "UPN:" + $0 }
            + names.uris.map { "URI:" + $0 } + names.ipAddresses.map { "IP:" + $0 }).joined(separator: ", ")
    }

    static func keyDescription(_ type: CertificateKeyType) -> String {
        switch type {
        case .rsa(let bits): "RSA \(bits) bits"
        case .ec(let curve): "EC \(curve)"
        case .other(let description): description
        }
    }

    // MARK: - Expiry timeline

    /// At most this many objects of each kind are read for the timeline.
    static let timelineLimit = 1000

    /// When the vault's certificates, keys and secrets expire: a chart from today, then the same as a table (the kinds
    /// the person may list; expired objects first).
    func expiry(_ request: ConsoleRequest, _ person: ConsolePerson) async throws -> Response {
        let vault = try await services.vaults.get(try VaultName(request.parameter("vault")))
        request.audit?.note { $0.vault = vault.name }
        var page = frame("\(vault.name): expiry", person, trail: [("\(vault.name)", "/vaults/\(vault.name)")])
        var entries: [(kind: ObjectKind, name: String, expires: Int64, enabled: Bool)] = []
        for kind in [ObjectKind.certificate, .key, .secret] {
            do {
                try await access.authorize(person.caller, kind.console.list, in: vault, objectName: nil)
            } catch CoffreError.forbidden(_, let message) {
                page.paragraph(message, class: "error")
                continue
            }
            var after: String?
            var read = 0
            repeat {
                let heads: [(String, ObjectAttributes)]
                switch kind {
                case .secret:
                    let listed = try await services.secrets.list(in: vault.name, after: after, limit: 100)
                    (heads, after) = (listed.items.map { ($0.name, $0.summary.attributes) }, listed.next)
                case .key:
                    let listed = try await services.keys.list(in: vault.name, after: after, limit: 100)
                    (heads, after) = (listed.items.map { ($0.name, $0.summary.attributes) }, listed.next)
                case .certificate:
                    let listed = try await services.certificates.list(in: vault.name, includePending: false, after: after, limit: 100)
                    let items = listed.items.compactMap { listed -> (String, ObjectAttributes)? in
                        guard case .certificate(let item) = listed else { return nil }
                        return (item.name, item.summary.attributes)
                    }
                    (heads, after) = (items, listed.next)
                }
                read += heads.count
                for (name, attributes) in heads {
                    guard let expires = attributes.expires else { continue }
                    // A certificate's key and secret expire with it: shown once, as the certificate.
                    if kind != .certificate, entries.contains(where: { $0.kind == .certificate && $0.name == name }) { continue }
                    entries.append((kind, name, expires, attributes.enabled))
                }
            } while after != nil && read < Self.timelineLimit
        }
        entries.sort { $0.expires < $1.expires }
        let now = services.vaultClock.now(in: vault.name)
        if entries.isEmpty {
            page.paragraph("Nothing in this vault that you may list has an expiry date.")
            return page.response(status: .ok)
        }
        page.append(escaped: Self.timeline(entries.map { ($0.kind.noun + " " + $0.name, $0.expires) }, now: now))
        page.table(
            headers: ["Kind", "Name", "Expires", "In", "Enabled"],
            rows: entries.map { entry in
                let days = (entry.expires - now) / Seconds.day
                let href = "/vaults/\(vault.name)/\(entry.kind.collection)/\(entry.name)"
                return [
                    .text(entry.kind.title), .link(entry.name, href: href),
                    entry.expires <= now ? .marked(Self.date(entry.expires) + " (expired)", class: "expired") : .text(Self.date(entry.expires)),
                    .text(entry.expires <= now ? "expired" : "\(days) days"), .text(entry.enabled ? "yes" : "no"),
                ]
            })
        return page.response(status: .ok)
    }

    /// An inline SVG chart: one bar per entry from today to its expiry, on an axis of months; red when expired or due
    /// within 30 days, amber within 90. Texts are escaped; the page's CSP allows inline SVG (no script, no style attribute).
    static func timeline(_ entries: [(label: String, expires: Int64)], now: Int64) -> String {
        let shown = entries.prefix(60)
        let start = min(now, shown.map(\.expires).min() ?? now) - 7 * Seconds.day
        let end = max(now + 90 * Seconds.day, (shown.map(\.expires).max() ?? now) + 14 * Seconds.day)
        let (labelWidth, chartWidth, rowHeight, top) = (220.0, 820.0, 20.0, 24.0)
        func x(_ time: Int64) -> Double { labelWidth + chartWidth * Double(time - start) / Double(end - start) }
        let height = top + rowHeight * Double(shown.count) + 8
        var svg =
            "<svg xmlns=\"http://www.w3.org/2000/svg\" role=\"img\" aria-label=\"Expiry timeline\" width=\"\(Int(labelWidth + chartWidth + 10))\" "
            + "height=\"\(Int(height))\" viewBox=\"0 0 \(Int(labelWidth + chartWidth + 10)) \(Int(height))\">"
        // Month ticks.
        var month = CivilTime(seconds: start)
        (month.day, month.hour, month.minute, month.second) = (1, 0, 0, 0)
        var tick = month.seconds
        var ticks = 0
        while tick <= end && ticks < 120 {
            if tick >= start {
                let label = CivilTime(seconds: tick)
                svg += "<line x1=\"\(x(tick))\" y1=\"\(top - 6)\" x2=\"\(x(tick))\" y2=\"\(height - 8)\" stroke=\"#e1dfdd\"/>"
                if ticks % max(1, Int((end - start) / (Seconds.day * 30 * 12)) + 1) == 0 {
                    svg += "<text x=\"\(x(tick) + 2)\" y=\"12\" fill=\"#605e5c\">\(label.year)-\(label.month < 10 ? "0" : "")\(label.month)</text>"
                }
            }
            ticks += 1
            month.month += 1
            if month.month > 12 { (month.month, month.year) = (1, month.year + 1) }
            tick = month.seconds
        }
        svg += "<line x1=\"\(x(now))\" y1=\"\(top - 8)\" x2=\"\(x(now))\" y2=\"\(height - 4)\" stroke=\"#323130\" stroke-dasharray=\"3 3\"/>"
        for (index, entry) in shown.enumerated() {
            let y = top + rowHeight * Double(index)
            let remaining = entry.expires - now
            let color = remaining <= 30 * Seconds.day ? "#a4262c" : remaining <= 90 * Seconds.day ? "#c19c00" : "#107c10"
            let (from, to) = (min(x(now), x(entry.expires)), max(x(now), x(entry.expires)))
            svg += "<text x=\"0\" y=\"\(y + 13)\">\(HTMLPage.escape(String(entry.label.prefix(32))))</text>"
            svg += "<rect x=\"\(from)\" y=\"\(y + 3)\" width=\"\(max(2, to - from))\" height=\"\(rowHeight - 6)\" fill=\"\(color)\"/>"
        }
        return svg + "</svg>"
    }

    // MARK: - Pending operation

    /// A certificate's operation: status, issuer, request, and buttons to cancel or delete it.
    func pending(_ request: ConsoleRequest, _ person: ConsolePerson) async throws -> Response {
        let (vault, name) = try await authorized(request, person, .certificatePendingGet)
        let operation = try await services.certificates.operations.get(in: vault.name, name: name)
        let base = "/vaults/\(vault.name)/certificates/\(name)"
        var page = frame("\(name): certificate operation", person, trail: [("\(vault.name)", "/vaults/\(vault.name)"), (name, base)])
        page.properties([
            ("Status", operation.status.rawValue), ("Details", operation.statusDetails ?? ""), ("Issuer", operation.issuerName),
            ("Request id", operation.requestId), ("Cancellation requested", operation.cancellationRequested ? "yes" : "no"),
            ("Error", [operation.errorCode, operation.errorMessage].compactMap { $0 }.joined(separator: ": ")),
            ("Version made", operation.targetVersion ?? ""),
        ])
        if let version = operation.targetVersion { page.link("The certificate it made", href: "\(base)/versions/\(version)") }
        page.subheading("Certificate signing request")
        page.preformatted(Self.pem(operation.csr, label: "CERTIFICATE REQUEST"), id: "csr")
        if operation.isInProgress {
            page.form(
                action: "\(base)/pending/cancel", csrf: person.session.csrfToken, hidden: [:], fields: [], buttons: [("Cancel operation", "cancel")])
        }
        page.form(
            action: "\(base)/pending/delete", csrf: person.session.csrfToken, hidden: [:], fields: [], buttons: [("Delete operation", "delete")])
        return page.response(status: .ok)
    }

    func cancelPending(_ request: ConsoleRequest, _ person: ConsolePerson) async throws -> Response {
        _ = try SignInPages.checkedForm(request, session: person.session)
        let (vault, name) = try await authorized(request, person, .certificatePendingUpdate)
        _ = try await services.certificates.operations.cancel(in: vault.name, name: name)
        return Self.redirect(to: "/vaults/\(vault.name)/certificates/\(name)/pending")
    }

    func deletePending(_ request: ConsoleRequest, _ person: ConsolePerson) async throws -> Response {
        _ = try SignInPages.checkedForm(request, session: person.session)
        let (vault, name) = try await authorized(request, person, .certificatePendingDelete)
        _ = try await services.certificates.operations.delete(in: vault.name, name: name)
        return Self.redirect(to: "/vaults/\(vault.name)")
    }

    /// Base64 DER as PEM.
    static func pem(_ base64: String, label: String) -> String {
        var lines: [Substring] = []
        var rest = Substring(base64)
        while !rest.isEmpty {
            lines.append(rest.prefix(64))
            rest = rest.dropFirst(64)
        }
        return "-----BEGIN \(label)-----\n" + lines.joined(separator: "\n") + "\n-----END \(label)-----"
    }
}
