/// Writes the XML documents of the Blob service (error bodies, listings, block lists), always UTF-8 with a declaration.
struct XMLWriter {
    private(set) var text = #"<?xml version="1.0" encoding="utf-8"?>"#

    var bytes: [UInt8] { Array(text.utf8) }

    mutating func open(_ name: String, attributes: [(String, String)] = []) {
        text += "<" + name
        for (attribute, value) in attributes { text += " \(attribute)=\"\(Self.escaped(value, quotes: true))\"" }
        text += ">"
    }

    mutating func close(_ name: String) { text += "</\(name)>" }

    /// `<name>value</name>`, or `<name />` when there is no value.
    mutating func element(_ name: String, _ value: String?, attributes: [(String, String)] = []) {
        guard let value else {
            text += "<\(name) />"
            return
        }
        open(name, attributes: attributes)
        text += Self.escaped(value, quotes: false)
        close(name)
    }

    static func escaped(_ value: String, quotes: Bool) -> String {
        var escaped = ""
        escaped.reserveCapacity(value.utf8.count)
        for character in value.unicodeScalars {
            switch character {
            case "&": escaped += "&amp;"
            case "<": escaped += "&lt;"
            case ">": escaped += "&gt;"
            case "\"" where quotes: escaped += "&quot;"
            default: escaped.unicodeScalars.append(character)
            }
        }
        return escaped
    }

    /// Whether XML 1.0 can carry `value` as text (names with control characters are sent percent-encoded instead).
    static func canCarry(_ value: String) -> Bool {
        value.unicodeScalars.allSatisfy { scalar in
            scalar == "\t" || scalar == "\n" || scalar == "\r" || (scalar.value >= 0x20 && scalar.value != 0xFFFE && scalar.value != 0xFFFF)
        }
    }
}

/// A parsed XML element: enough of XML for the documents Azure Storage exchanges (block lists, listings, errors).
/// Namespaces are kept in names, processing instructions, comments and doctype are skipped, entities and CDATA decoded.
struct XMLElement: Equatable, Sendable {
    var name: String
    var attributes: [String: String]
    var children: [XMLElement]
    var text: String

    func child(_ name: String) -> XMLElement? { children.first { $0.name == name } }

    func children(_ name: String) -> [XMLElement] { children.filter { $0.name == name } }

    /// Parses a whole document; `nil` when it is not well-formed.
    static func parse(_ bytes: [UInt8]) -> XMLElement? {
        var parser = XMLReader(bytes: bytes)
        return parser.document()
    }
}

private struct XMLReader {
    let bytes: [UInt8]
    var position = 0
    /// Elements nested deeper than this make a document invalid (the reader recurses per level).
    static let maximumDepth = 32

    init(bytes: [UInt8]) {
        // A UTF-8 byte-order mark is allowed before the declaration.
        self.bytes = bytes.starts(with: [0xEF, 0xBB, 0xBF]) ? Array(bytes.dropFirst(3)) : bytes
    }

    mutating func document() -> XMLElement? {
        skipMisc()
        guard let root = element(depth: 1) else { return nil }
        skipMisc()
        return position == bytes.count ? root : nil
    }

    /// Whitespace, the declaration, processing instructions, comments and a doctype.
    private mutating func skipMisc() {
        while true {
            skipWhitespace()
            if starts(with: "<?") {
                guard skip(past: "?>") else { return }
            } else if starts(with: "<!--") {
                guard skip(past: "-->") else { return }
            } else if starts(with: "<!DOCTYPE") {
                guard skip(past: ">") else { return }
            } else {
                return
            }
        }
    }

    private mutating func element(depth: Int) -> XMLElement? {
        guard peek == UInt8(ascii: "<"), depth <= Self.maximumDepth else { return nil }
        position += 1
        guard let name = name() else { return nil }
        var attributes: [String: String] = [:]
        while true {
            skipWhitespace()
            if starts(with: "/>") {
                position += 2
                return XMLElement(name: name, attributes: attributes, children: [], text: "")
            }
            if peek == UInt8(ascii: ">") {
                position += 1
                break
            }
            guard let attribute = self.name() else { return nil }
            skipWhitespace()
            guard peek == UInt8(ascii: "=") else { return nil }
            position += 1
            skipWhitespace()
            guard let quote = peek, quote == UInt8(ascii: "\"") || quote == UInt8(ascii: "'") else { return nil }
            position += 1
            guard let end = bytes[position...].firstIndex(of: quote), let value = Self.decoded(bytes[position..<end]) else { return nil }
            attributes[attribute] = value
            position = end + 1
        }
        var children: [XMLElement] = []
        var text = ""
        while position < bytes.count {
            if starts(with: "</") {
                position += 2
                guard self.name() == name else { return nil }
                skipWhitespace()
                guard peek == UInt8(ascii: ">") else { return nil }
                position += 1
                return XMLElement(name: name, attributes: attributes, children: children, text: text)
            } else if starts(with: "<!--") {
                guard skip(past: "-->") else { return nil }
            } else if starts(with: "<![CDATA[") {
                position += 9
                guard let end = find("]]>") else { return nil }
                text += String(decoding: bytes[position..<end], as: UTF8.self)
                position = end + 3
            } else if starts(with: "<?") {
                guard skip(past: "?>") else { return nil }
            } else if peek == UInt8(ascii: "<") {
                guard let child = element(depth: depth + 1) else { return nil }
                children.append(child)
            } else {
                let end = bytes[position...].firstIndex(of: UInt8(ascii: "<")) ?? bytes.count
                guard let run = Self.decoded(bytes[position..<end]) else { return nil }
                text += run
                position = end
            }
        }
        return nil
    }

    private mutating func name() -> String? {
        let start = position
        while let byte = peek, byte != UInt8(ascii: ">"), byte != UInt8(ascii: "/"), byte != UInt8(ascii: "="), !Self.isSpace(byte) {
            position += 1
        }
        return position > start ? String(decoding: bytes[start..<position], as: UTF8.self) : nil
    }

    private var peek: UInt8? { position < bytes.count ? bytes[position] : nil }

    private func starts(with prefix: String) -> Bool { bytes[position...].starts(with: prefix.utf8) }

    private func find(_ marker: String) -> Int? {
        let needle = Array(marker.utf8)
        var index = position
        while index + needle.count <= bytes.count {
            if bytes[index..<index + needle.count].elementsEqual(needle) { return index }
            index += 1
        }
        return nil
    }

    private mutating func skip(past marker: String) -> Bool {
        guard let end = find(marker) else { return false }
        position = end + marker.utf8.count
        return true
    }

    private mutating func skipWhitespace() {
        while let byte = peek, Self.isSpace(byte) { position += 1 }
    }

    private static func isSpace(_ byte: UInt8) -> Bool { byte == 0x20 || byte == 0x09 || byte == 0x0A || byte == 0x0D }

    /// Text with its entity and character references replaced; `nil` on an unknown or malformed reference.
    private static func decoded(_ raw: ArraySlice<UInt8>) -> String? {
        guard raw.contains(UInt8(ascii: "&")) else { return String(decoding: raw, as: UTF8.self) }
        var output: [UInt8] = []
        var index = raw.startIndex
        while index < raw.endIndex {
            guard raw[index] == UInt8(ascii: "&") else {
                output.append(raw[index])
                index += 1
                continue
            }
            guard let end = raw[index...].firstIndex(of: UInt8(ascii: ";")) else { return nil }
            let entity = String(decoding: raw[(index + 1)..<end], as: UTF8.self)
            let scalar: Unicode.Scalar?
            switch entity {
            case "amp": scalar = "&"
            case "lt": scalar = "<"
            case "gt": scalar = ">"
            case "quot": scalar = "\""
            case "apos": scalar = "'"
            default:
                if entity.hasPrefix("#x") {
                    scalar = UInt32(entity.dropFirst(2), radix: 16).flatMap(Unicode.Scalar.init)
                } else if entity.hasPrefix("#") {
                    scalar = UInt32(entity.dropFirst()).flatMap(Unicode.Scalar.init)
                } else {
                    scalar = nil
                }
            }
            guard let scalar else { return nil }
            output.append(contentsOf: String(scalar).utf8)
            index = end + 1
        }
        return String(decoding: output, as: UTF8.self)
    }
}
