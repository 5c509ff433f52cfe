import CoffreAuth
import CoffreCrypto
import CoffreDirectory
import CoffreModel
import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore

/// Coffre's pages for people, server-rendered: sign in, then enter a device code and approve it. Reusable: any page
/// that needs a signed-in person sends it to `/signin?return=/its/path` (a same-site path) and reads the session.
///
/// Every page is sent with a strict Content-Security-Policy (no script, the one stylesheet by nonce, forms to this
/// origin only, no framing), `no-store`, and no secret in a URL: codes and passwords travel in POST bodies. Forms
/// carry a CSRF token: the session's, or before sign-in a double-submit cookie.
struct SignInPages: Sendable {
    let signIn: UserSignIn
    let tenantId: String

    static let sessionCookie = "__Host-coffre-session"
    static let csrfCookie = "__Host-coffre-csrf"

    var group: RouteGroup<OperationName, Void> {
        let tenant = ["tenant": TokenRoutes.isTenant]
        return RouteGroup(
            hosts: [.server],
            policy: RoutePolicy(
                authentication: NoAuthentication(), requiresApiVersion: false, maxBodySize: 16 * 1024, errors: HTMLErrors(), auditor: nil),
            routes: [
                Route(.get, "signin", "SignInPage") { request in
                    signInPage(request, returnPath: Self.returnPath(request.query["return"]), failed: false)
                },
                Route(.post, "signin", "SignIn", signInPost),
                Route(.post, "signout", "SignOut", signOut),
                Route(.get, "devicelogin", "DeviceLoginPage", deviceLogin),
                Route(.post, "devicelogin", "DeviceLoginCode", deviceLoginCode),
                Route(.post, "devicelogin/answer", "DeviceLoginAnswer", deviceLoginAnswer),
                Route(.get, "{tenant}/oauth2/v2.0/authorize", "Authorize", accepting: tenant, authorize),
                Route(.get, "{tenant}/oauth2/authorize", "Authorize", accepting: tenant, authorize),
                Route(.post, "{tenant}/oauth2/v2.0/authorize", "AuthorizeAnswer", accepting: tenant, authorizeAnswer),
                Route(.post, "{tenant}/oauth2/authorize", "AuthorizeAnswer", accepting: tenant, authorizeAnswer),
            ],
            admit: { _, _ in })
    }

    // MARK: - Sign-in

    /// The sign-in form, with a fresh double-submit CSRF cookie.
    func signInPage(_ request: RouteRequest<Void>, returnPath: String, failed: Bool) -> Response {
        let (csrf, csrfCookie) = Self.csrfBeforeSignIn()
        var page = HTMLPage(title: "Sign in")
        page.heading("Sign in to Coffre")
        if failed { page.paragraph("That user name or password is not right.", class: "error") }
        page.form(
            action: "/signin", csrf: csrf, hidden: ["return": returnPath],
            fields: [
                .init(label: "User name", name: "username", type: "email", autocomplete: "username"),
                .init(label: "Password", name: "password", type: "password", autocomplete: "current-password"),
            ], buttons: [("Sign in", "signin")])
        var response = page.response(status: failed ? .unauthorized : .ok)
        response.headers.append(csrfCookie)
        return response
    }

    /// Checks the name and password, opens the session and goes back to the page that asked.
    func signInPost(_ request: RouteRequest<Void>) async throws -> Response {
        let form = try Self.checkedFormBeforeSignIn(request)
        let returnPath = Self.returnPath(form["return"])
        guard let opened = try await signIn.openSession(username: form["username"] ?? "", password: form["password"] ?? "") else {
            return signInPage(request, returnPath: returnPath, failed: true)
        }
        var response = Response(status: .seeOther, headers: [.location: returnPath, .cacheControl: "no-store"])
        response.headers.append(
            HTTPField(name: .setCookie, value: Self.cookie(Self.sessionCookie, opened.cookie, maxAge: Int(SignInSession.lifetime))))
        response.headers.append(HTTPField(name: .setCookie, value: Self.cookie(Self.csrfCookie, "", maxAge: 0)))
        return response
    }

    func signOut(_ request: RouteRequest<Void>) async throws -> Response {
        let found = try await requireSession(request)
        _ = try Self.checkedForm(request, session: found.signedIn.session)
        try await signIn.closeSession(cookie: found.cookie)
        var response = Response(status: .seeOther, headers: [.location: "/signin", .cacheControl: "no-store"])
        response.headers.append(HTTPField(name: .setCookie, value: Self.cookie(Self.sessionCookie, "", maxAge: 0)))
        return response
    }

    // MARK: - Device code

    func deviceLogin(_ request: RouteRequest<Void>) async throws -> Response {
        guard let found = try await session(request) else {
            return Response(status: .seeOther, headers: [.location: "/signin?return=/devicelogin", .cacheControl: "no-store"])
        }
        return codePage(found.signedIn, failed: false)
    }

    func codePage(_ signedIn: SignedIn, failed: Bool) -> Response {
        var page = HTMLPage(title: "Enter code")
        page.heading("Enter code")
        page.paragraph("Signed in as \(signedIn.user.userPrincipalName). Enter the code shown on the device or application you want to sign in.")
        if failed { page.paragraph("That code is not right, or it expired. Check it, or start the sign-in again.", class: "error") }
        page.form(
            action: "/devicelogin", csrf: signedIn.session.csrfToken, hidden: [:],
            fields: [.init(label: "Code", name: "user_code", type: "text", autocomplete: "off")], buttons: [("Next", "next")])
        page.signOut(csrf: signedIn.session.csrfToken)
        return page.response(status: failed ? .badRequest : .ok)
    }

    func deviceLoginCode(_ request: RouteRequest<Void>) async throws -> Response {
        let signedIn = try await requireSession(request).signedIn
        let form = try Self.checkedForm(request, session: signedIn.session)
        guard let pending = try await signIn.pendingDeviceFlow(userCode: form["user_code"] ?? "") else { return codePage(signedIn, failed: true) }
        var page = HTMLPage(title: "Approve sign-in")
        page.heading("Are you trying to sign in to \(pending.client.displayName)?")
        page.paragraph(
            "Continue only if you started this sign-in yourself, on a device or in an application you trust. "
                + "It will act as \(signedIn.user.userPrincipalName) on \(pending.resource).")
        page.form(
            action: "/devicelogin/answer", csrf: signedIn.session.csrfToken, hidden: ["user_code": pending.userCode], fields: [],
            buttons: [("Approve", "approve"), ("Deny", "deny")])
        return page.response(status: .ok)
    }

    func deviceLoginAnswer(_ request: RouteRequest<Void>) async throws -> Response {
        let signedIn = try await requireSession(request).signedIn
        let form = try Self.checkedForm(request, session: signedIn.session)
        let approve = form["decision"] == "approve"
        guard try await signIn.answerDeviceFlow(userCode: form["user_code"] ?? "", user: signedIn.user, approve: approve) else {
            return codePage(signedIn, failed: true)
        }
        var page = HTMLPage(title: approve ? "Signed in" : "Sign-in denied")
        page.heading(approve ? "You are signed in" : "Sign-in denied")
        page.paragraph(
            approve
                ? "You have signed in on your device or application as \(signedIn.user.userPrincipalName). You may close this window."
                : "The device or application was not signed in. You may close this window.")
        return page.response(status: .ok)
    }

    // MARK: - Authorization code (with PKCE)

    /// The parameters an authorization request carries through sign-in and consent.
    static let authorizationParameters = [
        "client_id", "redirect_uri", "response_type", "scope", "state", "nonce", "code_challenge", "code_challenge_method", "response_mode",
        "login_hint",
    ]

    /// `GET /{tenant}/oauth2/v2.0/authorize`: sign in if needed, then ask the person to continue to the application.
    func authorize(_ request: RouteRequest<Void>) async throws -> Response {
        let authorization: AuthorizationRequest
        do {
            authorization = try signIn.authorizationRequest(request.query)
        } catch let refused as AuthorizationRequestRefused {
            return HTMLErrors.page(refused.message, status: .badRequest)
        } catch let error as OAuthError {
            return deliver(
                to: request.query["redirect_uri"] ?? "", mode: request.query["response_mode"] ?? "query",
                fields: ["error": error.code, "error_description": error.description, "state": request.query["state"]])
        }
        guard let signedIn = try await session(request)?.signedIn else {
            let back = request.incoming.path + "?" + Self.query(request.query)
            return Response(
                status: .seeOther,
                headers: [.location: "/signin?return=" + PercentEncoding.encode(back, keepingSlash: false), .cacheControl: "no-store"])
        }
        var page = HTMLPage(title: "Continue")
        page.formTargets = [Self.origin(authorization.redirectURI)]
        page.heading("Continue to \(authorization.client.displayName)?")
        page.paragraph("\(authorization.client.displayName) will sign in as \(signedIn.user.userPrincipalName).")
        let hidden = request.query.filter { Self.authorizationParameters.contains($0.key) }
        page.form(
            action: request.incoming.path, csrf: signedIn.session.csrfToken, hidden: hidden, fields: [],
            buttons: [("Continue", "continue"), ("Cancel", "cancel")])
        page.signOut(csrf: signedIn.session.csrfToken)
        return page.response(status: .ok)
    }

    /// The person's answer: a code (or `access_denied`) sent to the application's redirect URI.
    func authorizeAnswer(_ request: RouteRequest<Void>) async throws -> Response {
        let signedIn = try await requireSession(request).signedIn
        let form = try Self.checkedForm(request, session: signedIn.session)
        let authorization: AuthorizationRequest
        do {
            authorization = try signIn.authorizationRequest(form)
        } catch let refused as AuthorizationRequestRefused {
            return HTMLErrors.page(refused.message, status: .badRequest)
        }
        guard form["decision"] == "continue" else {
            return deliver(
                to: authorization.redirectURI, mode: authorization.responseMode,
                fields: ["error": "access_denied", "error_description": "AADSTS65004: The user declined.", "state": authorization.state])
        }
        let code = try await signIn.issueCode(for: authorization, user: signedIn.user)
        return deliver(to: authorization.redirectURI, mode: authorization.responseMode, fields: ["code": code, "state": authorization.state])
    }

    /// Sends the answer to the redirect URI: in its query (a redirect), or as a form posted by the browser.
    func deliver(to redirectURI: String, mode: String, fields: [String: String?]) -> Response {
        let present = fields.compactMapValues { $0 }
        guard mode == "form_post" else {
            let separator = redirectURI.contains("?") ? "&" : "?"
            return Response(status: .seeOther, headers: [.location: redirectURI + separator + Self.query(present), .cacheControl: "no-store"])
        }
        var page = HTMLPage(title: "Signing in")
        page.formTargets = [Self.origin(redirectURI)]
        page.autoSubmit = true
        page.paragraph("Returning to the application…")
        page.postForm(action: redirectURI, fields: present)
        return page.response(status: .ok)
    }

    static func query(_ fields: [String: String]) -> String {
        fields.sorted { $0.key < $1.key }.map { "\($0.key)=\(PercentEncoding.encode($0.value, keepingSlash: false))" }.joined(separator: "&")
    }

    /// `scheme://host[:port]` of a URL, for the page's form-action policy.
    static func origin(_ url: String) -> String {
        guard let schemeEnd = url.range(of: "://") else { return "'none'" }
        let rest = url[schemeEnd.upperBound...]
        return String(url[..<schemeEnd.upperBound]) + String(rest.prefix { $0 != "/" && $0 != "?" && $0 != "#" })
    }

    // MARK: - Sessions, CSRF, cookies

    typealias SignedIn = (session: SignInSession, user: UserRecord)

    func session(_ request: RouteRequest<Void>) async throws -> (cookie: String, signedIn: SignedIn)? {
        guard let cookie = Self.cookies(request.headers)[Self.sessionCookie], let found = try await signIn.session(cookie: cookie) else {
            return nil
        }
        return (cookie, found)
    }

    func requireSession(_ request: RouteRequest<Void>) async throws -> (cookie: String, signedIn: SignedIn) {
        guard let found = try await session(request) else {
            throw CoffreError.unauthorized("Sign in first: your session ended.")
        }
        return found
    }

    /// The form of a signed-in page, after checking its CSRF token against the session's.
    static func checkedForm<Scope>(_ request: RouteRequest<Scope>, session: SignInSession) throws -> [String: String] {
        let form = Forms.parse(String(buffer: request.body))
        guard let sent = form["csrf"], ConstantTime.equals(Array(sent.utf8), Array(session.csrfToken.utf8)) else {
            throw CoffreError.forbidden(.notAllowed, message: "This form expired or did not come from Coffre's page: reload it.")
        }
        return form
    }

    /// The form of a page shown before sign-in (sign-in, unseal), after checking its CSRF token against the
    /// double-submit cookie the page set (``csrfCookie``).
    static func checkedFormBeforeSignIn<Scope>(_ request: RouteRequest<Scope>) throws -> [String: String] {
        let form = Forms.parse(String(buffer: request.body))
        guard let sent = form["csrf"], let expected = cookies(request.headers)[csrfCookie],
            ConstantTime.equals(Array(sent.utf8), Array(expected.utf8))
        else {
            throw CoffreError.forbidden(.notAllowed, message: "This form expired or did not come from Coffre's page: load it again.")
        }
        return form
    }

    /// A fresh double-submit CSRF token for a page shown before sign-in, and the cookie that carries it.
    static func csrfBeforeSignIn() -> (token: String, cookie: HTTPField) {
        let token = Base64.urlEncoded(SecureRandom.bytes(24))
        return (token, HTTPField(name: .setCookie, value: cookie(csrfCookie, token, maxAge: 3600)))
    }

    /// A path on this site to return to after signing in (`/devicelogin`); anything else (another site, `//host`) is `/devicelogin`.
    static func returnPath(_ text: String?) -> String {
        guard let text, text.hasPrefix("/"), !text.hasPrefix("//"), !text.contains("\\"), !text.contains("\r"), !text.contains("\n") else {
            return "/devicelogin"
        }
        return text
    }

    static func cookies(_ headers: HTTPFields) -> [String: String] {
        var cookies: [String: String] = [:]
        for header in headers[values: .cookie] {
            for pair in header.split(separator: ";") {
                let parts = pair.split(separator: "=", maxSplits: 1)
                guard parts.count == 2 else { continue }
                cookies[parts[0].trimmingCharacters(in: .whitespaces)] = parts[1].trimmingCharacters(in: .whitespaces)
            }
        }
        return cookies
    }

    /// A host-only, HTTPS-only cookie scripts cannot read, sent on same-site requests and top-level navigations.
    static func cookie(_ name: String, _ value: String, maxAge: Int) -> String {
        "\(name)=\(value); Max-Age=\(maxAge); Path=/; Secure; HttpOnly; SameSite=Lax"
    }
}

/// Errors of the pages for people, as a page.
struct HTMLErrors: ErrorShape {
    func response(_ error: ErrorResponse, challenge: String?, logger: Logger) -> Response {
        if error.status == .internalServerError { logger.error("page failed", metadata: ["error": "\(error.internalDetail ?? error.code)"]) }
        return Self.page(error.message, status: error.status)
    }

    static func page(_ message: String, status: HTTPResponse.Status) -> Response {
        var page = HTMLPage(title: "Coffre")
        page.heading(status == .unauthorized ? "Please sign in" : "Something went wrong")
        page.paragraph(message, class: "error")
        page.link("Sign in", href: "/signin")
        return page.response(status: status)
    }
}
