import CoffreCore
import CoffreServer
import Foundation
import HTTPTypes
import Testing

@testable import CoffreHTTP

/// The security of the console's pages themselves, for every route of its table (those added later too): a strict
/// Content-Security-Policy and no framing on every page, the session's CSRF token on every change, no secret in a URL
/// or in the audit log. (Sessions ending after 15 minutes unused: ``ConsoleTests/sessionsEndWhenIdleOrSignedOut()``.)
@Suite struct ConsoleSecurityTests {
    typealias Browser = SignInTests.Browser

    /// The console's routes with a path each (parameters filled with objects the harness has).
    func routes(_ h: Harness) -> [(method: HTTPRequest.Method, path: String)] {
        let console = ConsolePages(
            services: h.server.services, addressing: h.responder.addressing,
            access: DataPlane(services: h.server.services, addressing: h.responder.addressing).access)
        return console.group.routes.map { route in
            let segments = route.pattern.segments.map { segment in
                switch segment {
                case .literal(let text): text
                case .parameter(let name, _, _): ["vault": "default", "name": "db-password"][name] ?? "x"
                case .rest: "x"
                }
            }
            return (route.method, "/" + segments.joined(separator: "/"))
        }
    }

    func signedIn() async throws -> (Harness, Browser) {
        var (h, browser) = try await ConsoleTests().setUp(secrets: ["list", "get", "set"], keys: ["list"])
        _ = try await h.admin(
            .post, "/coffre/v1/roleassignments", json: ["role": "Owner", "assignee": "ivy@example.test", "scope": "/vaults/default"],
            host: SignInTests.authority)
        _ = try await ConsoleTests().signIn(&browser)
        return (h, browser)
    }

    static func checkLockedDown(_ page: Harness.Reply, _ what: String) {
        let policy = page.headers[.contentSecurityPolicy] ?? ""
        #expect(policy.hasPrefix("default-src 'none'; style-src 'nonce-") && !policy.contains("script-src"), "\(what)")
        #expect(policy.contains("frame-ancestors 'none'") && policy.contains("form-action 'self'") && policy.contains("base-uri 'none'"), "\(what)")
        #expect(page.headers[HTTPField.Name("X-Frame-Options")!] == "DENY", "\(what)")
        #expect(page.headers[.cacheControl] == "no-store" && page.headers[HTTPField.Name("X-Content-Type-Options")!] == "nosniff", "\(what)")
        // No script, no style attribute (the policy would block them); no CSRF token in a link or a query form.
        #expect(!page.text.contains("<script") && !page.text.contains(" style=\"") && !page.text.contains("csrf="), "\(what)")
        for form in page.text.components(separatedBy: "<form method=\"get\"").dropFirst() {
            let fields = form.components(separatedBy: "</form>")[0]
            #expect(!fields.contains("name=\"csrf\"") && !fields.contains("type=\"password\""), "\(what)")
        }
    }

    @Test func everyPageOfTheConsoleIsLockedDown() async throws {
        var (h, browser) = try await signedIn()
        let pages = routes(h).filter { $0.method == .get }
        #expect(pages.count >= 6)
        for page in pages {
            let reply = try await browser.send(.get, page.path)
            #expect(reply.headers[.contentType] == "text/html; charset=utf-8", "\(page.path)")
            Self.checkLockedDown(reply, page.path)
        }
        // Error pages too.
        Self.checkLockedDown(try await browser.send(.get, "/vaults/missing"), "a missing vault")
    }

    @Test func everyChangeNeedsTheSessionsCSRFToken() async throws {
        var (h, browser) = try await signedIn()
        let changes = routes(h).filter { $0.method == .post }
        #expect(changes.count >= 6)
        let before = h.audit.recorded.count
        for change in changes {
            for token in [nil, "forged-token"] {
                var form = ["name": "x", "value": "y", "principal": "ivy@example.test", "secrets.get": "on", "version": "", "id": "x"]
                form["csrf"] = token
                let reply = try await browser.send(.post, change.path, form: form)
                #expect(reply.status == .forbidden && reply.text.contains("did not come from Coffre"), "\(change.path)")
                Self.checkLockedDown(reply, change.path)
            }
        }
        // Nothing was done: every record since is a refusal.
        #expect(h.audit.recorded.dropFirst(before).allSatisfy { $0.stage != nil || $0.properties.httpStatusCode == 403 })
    }

    @Test func valuesTravelInBodiesAndAnswersNeverInAURLOrALog() async throws {
        var (h, browser) = try await signedIn()
        let vault = try await browser.send(.get, "/vaults/default")
        let csrf = try #require(Browser.hidden("csrf", in: vault.text))
        let created = try await browser.send(.post, "/vaults/default/secrets", form: ["csrf": csrf, "name": "api-token", "value": "tell-no-one-42"])
        #expect(created.status == .seeOther && created.headers[.location]?.contains("tell-no-one") == false)
        let reveal = try await browser.send(.post, "/vaults/default/secrets/api-token/reveal", form: ["csrf": csrf, "version": ""])
        #expect(reveal.text.contains("tell-no-one-42"))
        // Every link and form target of every page is free of the value; the audit records hold no value or token.
        for page in routes(h).filter({ $0.method == .get }) {
            #expect(!(try await browser.send(.get, page.path)).text.contains("tell-no-one-42"), "\(page.path)")
        }
        let session = try #require(browser.cookies[SignInPages.sessionCookie])
        for record in h.audit.recorded {
            let line = String(decoding: try record.jsonLine(), as: UTF8.self)
            #expect(!line.contains("tell-no-one-42") && !line.contains("hunter2-value") && !line.contains(session) && !line.contains(csrf))
        }
    }
}
