import Foundation
import SwiftASN1
import X509

// Key Vault's subject syntax is the Windows / .NET X.500 string: `CN=www.example.com, O="Contoso, Ltd", S=WA, C=US`.
// Relative names are separated by `,` or `;` (most specific first, as in RFC 4514), the attributes of one
// multi-valued name by `+`. A value is either quoted (`""` or `\"` is a quote inside) or bare, where `\` escapes
// a special character or gives a byte in hex (`\2C`). Spaces around names, `=` and separators are not significant.

extension DistinguishedName {
    /// Parses a subject in Key Vault's syntax (`CN=a, O=b`); throws ``CertificateFailure/Code/invalidSubject``.
    public init(keyVaultSubject subject: String) throws {
        var parser = SubjectParser(subject)
        let names = try parser.parse()
        self.init(try names.reversed().map { attributes in RelativeDistinguishedName(try attributes.map(Self.attribute)) })
    }

    /// The name in Key Vault's syntax: most specific first, `, ` between names, values quoted when needed.
    public var keyVaultSubject: String {
        reversed().map { name in name.map(Self.text(of:)).joined(separator: " + ") }.joined(separator: ", ")
    }

    private static func attribute(_ parsed: (type: String, value: String)) throws -> RelativeDistinguishedName.Attribute {
        guard let kind = SubjectAttributeKind(name: parsed.type) else {
            throw CertificateFailure(.invalidSubject, "The subject has an unknown attribute \"\(parsed.type)\".")
        }
        do {
            switch kind.encoding {
            case .utf8: return .init(type: kind.oid, utf8String: parsed.value)
            case .printable: return try .init(type: kind.oid, printableString: parsed.value)
            case .ia5: return try .init(type: kind.oid, ia5String: parsed.value)
            }
        } catch {
            let set = kind.encoding == .printable ? "letters, digits and ' ()+,-./:=?" : "ASCII characters"
            throw CertificateFailure(.invalidSubject, "The subject attribute \(parsed.type) may only hold \(set).")
        }
    }

    private static func text(of attribute: RelativeDistinguishedName.Attribute) -> String {
        let kind = SubjectAttributeKind(oid: attribute.type)
        let name = kind?.names[0] ?? "OID.\(attribute.type)"
        return "\(name)=\(quotedIfNeeded(AttributeText.string(attribute.value)))"
    }

    /// Quotes values that would not read back bare; inside quotes `\` and `"` are escaped.
    private static func quotedIfNeeded(_ value: String) -> String {
        let special: Set<Character> = [",", ";", "+", "=", "\"", "\\", "<", ">", "\n", "\r"]
        let needsQuotes =
            value.isEmpty || value.contains(where: special.contains) || value.first == "#" || value.first == " "
            || value.last == " "
        guard needsQuotes else { return value }
        return "\"" + value.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }
}

/// The attribute names Key Vault (and .NET) accept in a subject, with the string type each is encoded as.
struct SubjectAttributeKind: Sendable {
    enum Encoding: Sendable { case utf8, printable, ia5 }

    /// The first name is the one written out.
    let names: [String]
    let oid: ASN1ObjectIdentifier
    let encoding: Encoding

    static let all: [SubjectAttributeKind] = [
        .init(names: ["CN"], oid: [2, 5, 4, 3], encoding: .utf8),
        .init(names: ["OU"], oid: [2, 5, 4, 11], encoding: .utf8),
        .init(names: ["O"], oid: [2, 5, 4, 10], encoding: .utf8),
        .init(names: ["L"], oid: [2, 5, 4, 7], encoding: .utf8),
        .init(names: ["S", "ST"], oid: [2, 5, 4, 8], encoding: .utf8),
        .init(names: ["C"], oid: [2, 5, 4, 6], encoding: .printable),
        .init(names: ["E", "EMAIL", "EMAILADDRESS"], oid: [1, 2, 840, 113_549, 1, 9, 1], encoding: .ia5),
        .init(names: ["STREET"], oid: [2, 5, 4, 9], encoding: .utf8),
        .init(names: ["DC"], oid: [0, 9, 2342, 19_200_300, 100, 1, 25], encoding: .ia5),
        .init(names: ["UID"], oid: [0, 9, 2342, 19_200_300, 100, 1, 1], encoding: .utf8),
        .init(names: ["T", "TITLE"], oid: [2, 5, 4, 12], encoding: .utf8),
        .init(names: ["G", "GN", "GIVENNAME"], oid: [2, 5, 4, 42], encoding: .utf8),
        .init(names: ["SN", "SURNAME"], oid: [2, 5, 4, 4], encoding: .utf8),
        .init(names: ["I", "INITIALS"], oid: [2, 5, 4, 43], encoding: .utf8),
        .init(names: ["SERIALNUMBER"], oid: [2, 5, 4, 5], encoding: .printable),
        .init(names: ["POSTALCODE"], oid: [2, 5, 4, 17], encoding: .utf8),
    ]

    init(names: [String], oid: ASN1ObjectIdentifier, encoding: Encoding) {
        self.names = names
        self.oid = oid
        self.encoding = encoding
    }

    init?(oid: ASN1ObjectIdentifier) {
        guard let kind = Self.all.first(where: { $0.oid == oid }) else { return nil }
        self = kind
    }

    /// A keyword (any case), `OID.1.2.3` or a bare dotted OID (encoded as UTF8String).
    init?(name: String) {
        let upper = name.uppercased()
        if let kind = Self.all.first(where: { $0.names.contains(upper) }) {
            self = kind
            return
        }
        let dotted = upper.hasPrefix("OID.") ? String(name.dropFirst(4)) : name
        guard dotted.first?.isNumber == true, let oid = try? ASN1ObjectIdentifier(dotRepresentation: dotted) else { return nil }
        self = SubjectAttributeKind(oid: oid) ?? .init(names: ["OID.\(dotted)"], oid: oid, encoding: .utf8)
    }
}

/// Reads the subject syntax described at the top of this file, byte by byte.
private struct SubjectParser {
    private let subject: String
    private let bytes: [UInt8]
    private var index = 0

    init(_ subject: String) {
        self.subject = subject
        self.bytes = Array(subject.utf8)
    }

    /// The relative names in the order written, each a list of (type, value).
    mutating func parse() throws -> [[(type: String, value: String)]] {
        var names: [[(type: String, value: String)]] = []
        var current: [(type: String, value: String)] = []
        skipSpaces()
        guard index < bytes.count else { throw failure("it is empty") }
        while true {
            let type = try readType()
            let value = try readValue()
            guard !value.isEmpty else { throw failure("\(type) has an empty value") }
            current.append((type, value))
            skipSpaces()
            guard index < bytes.count else { break }
            let separator = bytes[index]
            index += 1
            if separator != UInt8(ascii: "+") {
                names.append(current)
                current = []
            }
            skipSpaces()
            guard index < bytes.count else { throw failure("it ends with a separator") }
        }
        names.append(current)
        return names
    }

    private mutating func readType() throws -> String {
        let start = index
        while index < bytes.count, bytes[index] != UInt8(ascii: "=") {
            guard !Self.isSeparator(bytes[index]) else { throw failure("\"\(text(start..<index))\" has no '='") }
            index += 1
        }
        guard index < bytes.count else { throw failure("\"\(text(start..<index))\" has no '='") }
        let type = text(start..<index).trimmingCharacters(in: .whitespaces)
        guard !type.isEmpty else { throw failure("an '=' has no attribute name before it") }
        index += 1
        return type
    }

    private mutating func readValue() throws -> String {
        skipSpaces()
        var value: [UInt8] = []
        if index < bytes.count, bytes[index] == UInt8(ascii: "\"") {
            index += 1
            while true {
                guard index < bytes.count else { throw failure("a quoted value is not closed") }
                let byte = bytes[index]
                let next = index + 1 < bytes.count ? bytes[index + 1] : nil
                if byte == UInt8(ascii: "\""), next == UInt8(ascii: "\"") {
                    value.append(byte)
                    index += 2
                } else if byte == UInt8(ascii: "\"") {
                    index += 1
                    break
                } else if byte == UInt8(ascii: "\\"), let next, next == UInt8(ascii: "\"") || next == UInt8(ascii: "\\") {
                    value.append(next)
                    index += 2
                } else {
                    value.append(byte)
                    index += 1
                }
            }
            skipSpaces()
            guard index == bytes.count || Self.isSeparator(bytes[index]) else {
                throw failure("text follows a quoted value")
            }
        } else {
            var significant = 0
            while index < bytes.count, !Self.isSeparator(bytes[index]) {
                let byte = bytes[index]
                if byte == UInt8(ascii: "\\"), let escaped = escape(at: index) {
                    value.append(escaped.byte)
                    index += escaped.length
                    significant = value.count
                    continue
                }
                value.append(byte)
                index += 1
                if byte != UInt8(ascii: " ") { significant = value.count }
            }
            value.removeSubrange(significant...)
        }
        guard let string = String(validating: value, as: UTF8.self) else { throw failure("a value is not valid UTF-8") }
        return string
    }

    /// `\` before a special character gives that character, before two hex digits a byte; otherwise it is literal.
    private func escape(at position: Int) -> (byte: UInt8, length: Int)? {
        guard position + 1 < bytes.count else { return nil }
        let next = bytes[position + 1]
        if Array(",;+=\"\\<># ".utf8).contains(next) { return (next, 2) }
        guard position + 2 < bytes.count, let high = Self.hexValue(next), let low = Self.hexValue(bytes[position + 2]) else {
            return nil
        }
        return (high << 4 | low, 3)
    }

    private mutating func skipSpaces() {
        while index < bytes.count, bytes[index] == UInt8(ascii: " ") || bytes[index] == UInt8(ascii: "\t") { index += 1 }
    }

    private func text(_ range: Range<Int>) -> String { String(decoding: bytes[range], as: UTF8.self) }

    private func failure(_ reason: String) -> CertificateFailure {
        CertificateFailure(.invalidSubject, "The subject \"\(subject)\" is not a valid distinguished name: \(reason).")
    }

    private static func isSeparator(_ byte: UInt8) -> Bool {
        byte == UInt8(ascii: ",") || byte == UInt8(ascii: ";") || byte == UInt8(ascii: "+")
    }

    private static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): return byte - UInt8(ascii: "A") + 10
        default: return nil
        }
    }
}

/// Text of directory-string values, including the BMPString and TeletexString that old certificates use.
enum AttributeText {
    static func string(_ value: RelativeDistinguishedName.Attribute.Value) -> String {
        if let string = String(value) { return string }
        guard let node = try? DER.parse(derEncoded(ASN1Any(value))),
            case .primitive(let content) = node.content
        else { return "" }
        switch node.identifier {
        case .bmpString:
            let units = stride(from: content.startIndex, to: content.endIndex - 1, by: 2).map {
                UInt16(content[$0]) << 8 | UInt16(content[$0 + 1])
            }
            return String(decoding: units, as: UTF16.self)
        case .universalString:
            let scalars = stride(from: content.startIndex, to: content.endIndex - 3, by: 4).compactMap { offset in
                Unicode.Scalar(content[offset..<offset + 4].reduce(UInt32(0)) { $0 << 8 | UInt32($1) })
            }
            return String(String.UnicodeScalarView(scalars))
        default:
            // TeletexString and the rest: Latin-1 is what most writers meant.
            return String(String.UnicodeScalarView(content.map { Unicode.Scalar($0) }))
        }
    }
}
