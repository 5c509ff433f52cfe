import CoffreCrypto
import Foundation
import HTTPTypes
import Hummingbird
import NIOCore

/// A small server-rendered page: every text is escaped; the stylesheet is allowed by a per-response nonce.
struct HTMLPage {
    struct Field {
        var label: String
        var name: String
        var type: String
        var autocomplete: String
        var required = true
        /// The value shown (a checkbox is checked when it is not empty; a `select`'s option selected).
        var value = ""
        /// A `select`'s options (value, text); a `checkboxes` field's boxes (value, text), each sent as `name.value=on`.
        var options: [(value: String, text: String)] = []
        /// The boxes of a `checkboxes` field that are checked at first.
        var checked: Set<String> = []
    }

    /// A cell of a ``table(headers:rows:)``.
    enum Cell {
        case text(String)
        /// Text marked with a class (`expired`).
        case marked(String, class: String)
        case link(String, href: String)
        /// A button posting a one-field form (with the page's CSRF token).
        case button(String, action: String, csrf: String, hidden: [String: String])
    }

    let title: String
    let nonce = Base64.urlEncoded(SecureRandom.bytes(16))
    private var body = ""
    /// Origins besides this one that the page's forms may post to (or be redirected to after posting).
    var formTargets: [String] = []
    /// Whether the page's one form posts itself (form_post answers; the only script Coffre's pages run).
    var autoSubmit = false
    /// A page of the console: wider, with tables.
    var wide = false

    init(title: String) { self.title = title }

    mutating func heading(_ text: String) { body += "<h1>\(Self.escape(text))</h1>\n" }

    mutating func subheading(_ text: String) { body += "<h2>\(Self.escape(text))</h2>\n" }

    /// Links in a row (the console's navigation and breadcrumbs).
    mutating func navigation(_ links: [(text: String, href: String)], separator: String = " / ") {
        body +=
            "<nav>" + links.map { "<a href=\"\(Self.escape($0.href))\">\(Self.escape($0.text))</a>" }.joined(separator: Self.escape(separator))
            + "</nav>\n"
    }

    /// Named values, one a row (an object's or a vault's properties).
    mutating func properties(_ rows: [(name: String, value: String)]) {
        body += "<table class=\"properties\">\n"
        for row in rows { body += "<tr><th>\(Self.escape(row.name))</th><td>\(Self.escape(row.value))</td></tr>\n" }
        body += "</table>\n"
    }

    /// Markup built by the caller, every text in it already escaped with ``escape(_:)`` (an inline SVG figure).
    mutating func append(escaped markup: String) { body += markup + "\n" }

    /// A value shown as it is, in a box of its own (a revealed secret).
    mutating func preformatted(_ text: String, id: String) { body += "<pre id=\"\(Self.escape(id))\">\(Self.escape(text))</pre>\n" }

    mutating func table(headers: [String], rows: [[Cell]]) {
        body += "<table>\n<tr>" + headers.map { "<th>\(Self.escape($0))</th>" }.joined() + "</tr>\n"
        for row in rows { body += "<tr>" + row.map { "<td>\(Self.html($0))</td>" }.joined() + "</tr>\n" }
        body += "</table>\n"
    }

    private static func html(_ cell: Cell) -> String {
        switch cell {
        case .text(let text): escape(text)
        case .marked(let text, let name): "<span class=\"\(escape(name))\">\(escape(text))</span>"
        case .link(let text, let href): "<a href=\"\(escape(href))\">\(escape(text))</a>"
        case .button(let label, let action, let csrf, let hidden):
            "<form method=\"post\" action=\"\(escape(action))\" class=\"inline\">"
                + "<input type=\"hidden\" name=\"csrf\" value=\"\(escape(csrf))\">"
                + hidden.sorted { $0.key < $1.key }.map { "<input type=\"hidden\" name=\"\(escape($0.key))\" value=\"\(escape($0.value))\">" }
                .joined() + "<button type=\"submit\">\(escape(label))</button></form>"
        }
    }

    mutating func paragraph(_ text: String, class name: String? = nil) {
        body += "<p\(name.map { " class=\"\($0)\"" } ?? "")>\(Self.escape(text))</p>\n"
    }

    mutating func link(_ text: String, href: String) { body += "<p><a href=\"\(Self.escape(href))\">\(Self.escape(text))</a></p>\n" }

    mutating func form(action: String, csrf: String, hidden: [String: String], fields: [Field], buttons: [(label: String, value: String)]) {
        body += "<form method=\"post\" action=\"\(Self.escape(action))\">\n"
        body += "<input type=\"hidden\" name=\"csrf\" value=\"\(Self.escape(csrf))\">\n"
        for (name, value) in hidden.sorted(by: { $0.key < $1.key }) {
            body += "<input type=\"hidden\" name=\"\(Self.escape(name))\" value=\"\(Self.escape(value))\">\n"
        }
        for field in fields { body += Self.html(field) }
        for button in buttons {
            body +=
                "<button type=\"submit\" name=\"decision\" value=\"\(Self.escape(button.value))\" id=\"\(Self.escape(button.value))\">\(Self.escape(button.label))</button>\n"
        }
        body += "</form>\n"
    }

    /// A field of a form: an input, a `select`, or a set of `checkboxes`.
    private static func html(_ field: Field) -> String {
        let name = escape(field.name)
        switch field.type {
        case "select":
            let options = field.options.map { option in
                "<option value=\"\(escape(option.value))\"\(option.value == field.value ? " selected" : "")>\(escape(option.text))</option>"
            }
            return "<label for=\"\(name)\">\(escape(field.label))</label>\n<select id=\"\(name)\" name=\"\(name)\">\(options.joined())</select>\n"
        case "checkboxes":
            let boxes = field.options.map { option in
                let box = escape(field.name + "." + option.value)
                return "<label class=\"check\"><input type=\"checkbox\" id=\"\(box)\" name=\"\(box)\" value=\"on\""
                    + "\(field.checked.contains(option.value) ? " checked" : "")>\(escape(option.text))</label>"
            }
            return "<fieldset><legend>\(escape(field.label))</legend>\(boxes.joined())</fieldset>\n"
        default:
            let value =
                field.type == "checkbox"
                ? (field.value.isEmpty ? "" : " checked") : field.value.isEmpty ? "" : " value=\"\(escape(field.value))\""
            return "<label for=\"\(name)\">\(escape(field.label))</label>\n"
                + "<input id=\"\(name)\" name=\"\(name)\" type=\"\(escape(field.type))\" autocomplete=\"\(escape(field.autocomplete))\"\(value)"
                + "\(field.required ? " required" : "")>\n"
        }
    }

    /// A form that reads (filters): sent as a query string, so it carries no CSRF token and must hold no secret.
    mutating func queryForm(action: String, fields: [Field], button: String) {
        body += "<form method=\"get\" action=\"\(Self.escape(action))\" class=\"filters\">\n"
        for field in fields { body += Self.html(field) }
        body += "<button type=\"submit\">\(Self.escape(button))</button>\n</form>\n"
    }

    /// A form with only hidden fields and a button (for browsers without script), to another site.
    mutating func postForm(action: String, fields: [String: String]) {
        body += "<form method=\"post\" action=\"\(Self.escape(action))\">\n"
        for (name, value) in fields.sorted(by: { $0.key < $1.key }) {
            body += "<input type=\"hidden\" name=\"\(Self.escape(name))\" value=\"\(Self.escape(value))\">\n"
        }
        body += "<button type=\"submit\">Continue</button>\n</form>\n"
    }

    mutating func signOut(csrf: String) { form(action: "/signout", csrf: csrf, hidden: [:], fields: [], buttons: [("Sign out", "signout")]) }

    static let style = """
        body{font-family:system-ui,sans-serif;max-width:28rem;margin:4rem auto;padding:0 1rem;color:#1b1b1b}
        h1{font-size:1.5rem}label{display:block;margin-top:1rem}
        input{width:100%;padding:.5rem;font-size:1rem;box-sizing:border-box}
        button{margin:1.25rem .5rem 0 0;padding:.5rem 1.25rem;font-size:1rem}.error{color:#a4262c}
        """

    /// The console's pages: wide, with tables and inline buttons.
    static let wideStyle = """
        body{font-family:system-ui,sans-serif;max-width:72rem;margin:2rem auto;padding:0 1rem;color:#1b1b1b}
        h1{font-size:1.5rem}h2{font-size:1.2rem;margin-top:2rem}label{display:block;margin-top:1rem}nav{margin-bottom:1rem}
        input{padding:.4rem;font-size:1rem}table{border-collapse:collapse;width:100%}
        th,td{text-align:left;padding:.3rem .6rem;border-bottom:1px solid #ddd;font-size:.9rem;vertical-align:top}
        button{margin:.75rem .5rem 0 0;padding:.4rem 1rem;font-size:.95rem}form.inline{display:inline}form.inline button{margin:0}
        pre{background:#f3f2f1;padding:.75rem;white-space:pre-wrap;word-break:break-all}.error{color:#a4262c}.expired{color:#a4262c}
        table.properties{width:auto}table.properties th{font-weight:600;padding-right:2rem}input[type=checkbox]{width:auto}
        svg text{font:12px system-ui,sans-serif}
        fieldset{border:1px solid #ddd;margin-top:1rem}label.check{display:inline-block;margin:.2rem 1rem .2rem 0;font-size:.9rem}
        select{padding:.4rem;font-size:1rem}figure{display:inline-block;margin:1rem 1.5rem 0 0}figcaption{font-size:.9rem}
        """

    func response(status: HTTPResponse.Status) -> Response {
        let html = """
            <!DOCTYPE html>
            <html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
            <title>\(Self.escape(title)) · Coffre</title><style nonce="\(nonce)">\(wide ? Self.wideStyle : Self.style)</style></head>
            <body>
            \(body)\(autoSubmit ? "<script nonce=\"\(nonce)\">document.forms[0].submit()</script>\n" : "")</body></html>
            """
        let policy =
            "default-src 'none'; style-src 'nonce-\(nonce)'; " + (autoSubmit ? "script-src 'nonce-\(nonce)'; " : "")
            + "form-action 'self'\(formTargets.map { " " + $0 }.joined()); frame-ancestors 'none'; base-uri 'none'"
        return Response(
            status: status,
            headers: [
                .contentType: "text/html; charset=utf-8", .contentSecurityPolicy: policy, .cacheControl: "no-store",
                HTTPField.Name("X-Frame-Options")!: "DENY", HTTPField.Name("Referrer-Policy")!: "no-referrer",
                HTTPField.Name("X-Content-Type-Options")!: "nosniff",
            ],
            body: .init(byteBuffer: ByteBuffer(string: html)))
    }

    static func escape(_ text: String) -> String {
        var escaped = ""
        escaped.reserveCapacity(text.utf8.count)
        for character in text {
            switch character {
            case "&": escaped += "&amp;"
            case "<": escaped += "&lt;"
            case ">": escaped += "&gt;"
            case "\"": escaped += "&quot;"
            case "'": escaped += "&#39;"
            default: escaped.append(character)
            }
        }
        return escaped
    }
}
