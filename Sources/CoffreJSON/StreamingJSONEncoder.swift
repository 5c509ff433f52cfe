import Foundation

/// Encodes JSON (response bodies, stored records) straight into bytes while `encode(to:)` runs. Foundation's
/// `JSONEncoder` first builds a tree of the whole document and then writes it, which made it the largest cost of a
/// page of list results.
///
/// The output is the JSON `JSONEncoder` writes with `.withoutEscapingSlashes` (keys in encoding order, `Data` as
/// Base64), for the containers used in order as Codable implementations do: a container is finished when the next
/// value is written to one of its enclosing containers, or when the value that opened it has been encoded.
public enum StreamingJSONEncoder {
    public static func encode(_ value: some Encodable) throws -> [UInt8] {
        let writer = JSONStreamWriter()
        try writer.encodeValue(value)
        return writer.bytes
    }
}

/// The bytes written so far and the containers still open (innermost last).
final class JSONStreamWriter {
    private(set) var bytes: [UInt8] = []
    private var open: [Frame] = []

    /// An open object or array: its closing byte and whether an element has been written.
    final class Frame {
        let closing: UInt8
        var isEmpty = true

        init(closing: UInt8) { self.closing = closing }
    }

    init() { bytes.reserveCapacity(1024) }

    /// Writes one value: its containers are closed when its `encode(to:)` returns; a value that wrote nothing is `{}`.
    func encodeValue(_ value: some Encodable) throws {
        let depth = open.count
        let start = bytes.count
        switch value {
        case let data as Data: string(data.base64EncodedString())
        case let fields as any JSONFieldsEncodable: try encodeFields(fields)
        default: try value.encode(to: StreamingEncoder(writer: self, codingPath: []))
        }
        close(downTo: depth)
        if bytes.count == start { bytes.append(contentsOf: [UInt8(ascii: "{"), UInt8(ascii: "}")]) }
    }

    /// An object that writes its own fields (see ``JSONFieldsEncodable``).
    func encodeFields(_ value: some JSONFieldsEncodable) throws {
        bytes.append(UInt8(ascii: "{"))
        var object = JSONObjectWriter(stream: self)
        try value.writeFields(&object)
        bytes.append(UInt8(ascii: "}"))
    }

    func openContainer(_ opening: UInt8, closing: UInt8) -> Frame {
        bytes.append(opening)
        let frame = Frame(closing: closing)
        open.append(frame)
        return frame
    }

    /// Closes the containers opened inside `frame`, then starts its next element.
    func element(of frame: Frame) {
        while let innermost = open.last, innermost !== frame {
            bytes.append(innermost.closing)
            open.removeLast()
        }
        if !frame.isEmpty { bytes.append(UInt8(ascii: ",")) }
        frame.isEmpty = false
    }

    func close(downTo depth: Int) {
        while open.count > depth { bytes.append(open.removeLast().closing) }
    }

    func key(_ name: String) {
        string(name)
        bytes.append(UInt8(ascii: ":"))
    }

    func raw(_ text: String) { bytes.append(contentsOf: text.utf8) }

    func number<T: BinaryFloatingPoint & LosslessStringConvertible>(_ value: T, codingPath: [any CodingKey]) throws {
        guard value.isFinite else {
            throw EncodingError.invalidValue(value, .init(codingPath: codingPath, debugDescription: "JSON has no \(value)."))
        }
        var text = value.description
        if text.hasSuffix(".0") { text.removeLast(2) }
        raw(text)
    }

    func string(_ value: String) { JSONString.append(value, to: &bytes) }

    /// An object of string members, in the order given.
    func object(_ members: some Sequence<(key: String, value: String)>) {
        raw("{")
        for (index, (key, text)) in members.enumerated() {
            if index > 0 { raw(",") }
            self.key(key)
            string(text)
        }
        raw("}")
    }
}

/// JSON string literals (RFC 8259), for every JSON Coffre writes by hand or streams.
public enum JSONString {
    /// Appends `value` quoted: runs of plain bytes are copied at once; quotes, backslashes and control characters
    /// escaped.
    public static func append(_ value: String, to bytes: inout [UInt8]) {
        bytes.append(UInt8(ascii: "\""))
        var value = value
        value.withUTF8 { utf8 in
            var plain = 0
            for (index, byte) in utf8.enumerated() where byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\") || byte < 0x20 {
                bytes.append(contentsOf: utf8[plain..<index])
                bytes.append(contentsOf: escaped(byte))
                plain = index + 1
            }
            bytes.append(contentsOf: utf8[plain...])
        }
        bytes.append(UInt8(ascii: "\""))
    }

    private static func escaped(_ byte: UInt8) -> [UInt8] {
        switch byte {
        case UInt8(ascii: "\""), UInt8(ascii: "\\"): return [UInt8(ascii: "\\"), byte]
        case UInt8(ascii: "\n"): return Array(#"\n"#.utf8)
        case UInt8(ascii: "\r"): return Array(#"\r"#.utf8)
        case UInt8(ascii: "\t"): return Array(#"\t"#.utf8)
        case 0x08: return Array(#"\b"#.utf8)
        case 0x0c: return Array(#"\f"#.utf8)
        default:
            let hex = Array("0123456789abcdef".utf8)
            return Array(#"\u00"#.utf8) + [hex[Int(byte >> 4)], hex[Int(byte & 0xf)]]
        }
    }
}

/// One value's encoder: its container writes into the shared writer.
struct StreamingEncoder: Encoder {
    let writer: JSONStreamWriter
    let codingPath: [any CodingKey]
    var userInfo: [CodingUserInfoKey: Any] { [:] }

    func container<Key: CodingKey>(keyedBy type: Key.Type) -> KeyedEncodingContainer<Key> {
        KeyedEncodingContainer(
            StreamingKeyedContainer(
                writer: writer, frame: writer.openContainer(UInt8(ascii: "{"), closing: UInt8(ascii: "}")), codingPath: codingPath))
    }

    func unkeyedContainer() -> any UnkeyedEncodingContainer {
        StreamingUnkeyedContainer(writer: writer, frame: writer.openContainer(UInt8(ascii: "["), closing: UInt8(ascii: "]")), codingPath: codingPath)
    }

    func singleValueContainer() -> any SingleValueEncodingContainer {
        StreamingSingleValue(writer: writer, codingPath: codingPath)
    }
}

/// Writes the scalar and nested values every container kind shares; `begin` starts the element.
protocol StreamingValueWriter {
    var writer: JSONStreamWriter { get }
    var codingPath: [any CodingKey] { get }
}

extension StreamingValueWriter {
    func writeNil() { writer.raw("null") }
    func write(_ value: Bool) { writer.raw(value ? "true" : "false") }
    func write(_ value: String) { writer.string(value) }
    func write(integer value: some BinaryInteger) { writer.raw(String(value)) }
    func write(_ value: Double) throws { try writer.number(value, codingPath: codingPath) }
    func write(_ value: Float) throws { try writer.number(value, codingPath: codingPath) }
    func write(_ value: some Encodable) throws { try writer.encodeValue(value) }
}

struct StreamingKeyedContainer<Key: CodingKey>: KeyedEncodingContainerProtocol, StreamingValueWriter {
    let writer: JSONStreamWriter
    let frame: JSONStreamWriter.Frame
    let codingPath: [any CodingKey]

    private func begin(_ key: Key) {
        writer.element(of: frame)
        writer.key(key.stringValue)
    }

    mutating func encodeNil(forKey key: Key) throws {
        begin(key)
        writeNil()
    }
    mutating func encode(_ value: Bool, forKey key: Key) throws {
        begin(key)
        write(value)
    }
    mutating func encode(_ value: String, forKey key: Key) throws {
        begin(key)
        write(value)
    }
    mutating func encode(_ value: Double, forKey key: Key) throws {
        begin(key)
        try write(value)
    }
    mutating func encode(_ value: Float, forKey key: Key) throws {
        begin(key)
        try write(value)
    }
    mutating func encode(_ value: Int, forKey key: Key) throws {
        begin(key)
        write(integer: value)
    }
    mutating func encode(_ value: Int8, forKey key: Key) throws {
        begin(key)
        write(integer: value)
    }
    mutating func encode(_ value: Int16, forKey key: Key) throws {
        begin(key)
        write(integer: value)
    }
    mutating func encode(_ value: Int32, forKey key: Key) throws {
        begin(key)
        write(integer: value)
    }
    mutating func encode(_ value: Int64, forKey key: Key) throws {
        begin(key)
        write(integer: value)
    }
    mutating func encode(_ value: UInt, forKey key: Key) throws {
        begin(key)
        write(integer: value)
    }
    mutating func encode(_ value: UInt8, forKey key: Key) throws {
        begin(key)
        write(integer: value)
    }
    mutating func encode(_ value: UInt16, forKey key: Key) throws {
        begin(key)
        write(integer: value)
    }
    mutating func encode(_ value: UInt32, forKey key: Key) throws {
        begin(key)
        write(integer: value)
    }
    mutating func encode(_ value: UInt64, forKey key: Key) throws {
        begin(key)
        write(integer: value)
    }
    mutating func encode<T: Encodable>(_ value: T, forKey key: Key) throws {
        begin(key)
        try write(value)
    }

    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy keyType: NestedKey.Type, forKey key: Key) -> KeyedEncodingContainer<NestedKey> {
        begin(key)
        return StreamingEncoder(writer: writer, codingPath: codingPath + [key]).container(keyedBy: keyType)
    }

    mutating func nestedUnkeyedContainer(forKey key: Key) -> any UnkeyedEncodingContainer {
        begin(key)
        return StreamingEncoder(writer: writer, codingPath: codingPath + [key]).unkeyedContainer()
    }

    mutating func superEncoder() -> any Encoder { superEncoder(forKey: Key(stringValue: "super")!) }

    mutating func superEncoder(forKey key: Key) -> any Encoder {
        begin(key)
        return StreamingEncoder(writer: writer, codingPath: codingPath + [key])
    }
}

struct StreamingUnkeyedContainer: UnkeyedEncodingContainer, StreamingValueWriter {
    let writer: JSONStreamWriter
    let frame: JSONStreamWriter.Frame
    let codingPath: [any CodingKey]
    private(set) var count = 0

    init(writer: JSONStreamWriter, frame: JSONStreamWriter.Frame, codingPath: [any CodingKey]) {
        self.writer = writer
        self.frame = frame
        self.codingPath = codingPath
    }

    private mutating func begin() {
        writer.element(of: frame)
        count += 1
    }

    mutating func encodeNil() throws {
        begin()
        writeNil()
    }
    mutating func encode(_ value: Bool) throws {
        begin()
        write(value)
    }
    mutating func encode(_ value: String) throws {
        begin()
        write(value)
    }
    mutating func encode(_ value: Double) throws {
        begin()
        try write(value)
    }
    mutating func encode(_ value: Float) throws {
        begin()
        try write(value)
    }
    mutating func encode(_ value: Int) throws {
        begin()
        write(integer: value)
    }
    mutating func encode(_ value: Int8) throws {
        begin()
        write(integer: value)
    }
    mutating func encode(_ value: Int16) throws {
        begin()
        write(integer: value)
    }
    mutating func encode(_ value: Int32) throws {
        begin()
        write(integer: value)
    }
    mutating func encode(_ value: Int64) throws {
        begin()
        write(integer: value)
    }
    mutating func encode(_ value: UInt) throws {
        begin()
        write(integer: value)
    }
    mutating func encode(_ value: UInt8) throws {
        begin()
        write(integer: value)
    }
    mutating func encode(_ value: UInt16) throws {
        begin()
        write(integer: value)
    }
    mutating func encode(_ value: UInt32) throws {
        begin()
        write(integer: value)
    }
    mutating func encode(_ value: UInt64) throws {
        begin()
        write(integer: value)
    }
    mutating func encode<T: Encodable>(_ value: T) throws {
        begin()
        try write(value)
    }

    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy keyType: NestedKey.Type) -> KeyedEncodingContainer<NestedKey> {
        begin()
        return StreamingEncoder(writer: writer, codingPath: codingPath).container(keyedBy: keyType)
    }

    mutating func nestedUnkeyedContainer() -> any UnkeyedEncodingContainer {
        begin()
        return StreamingEncoder(writer: writer, codingPath: codingPath).unkeyedContainer()
    }

    mutating func superEncoder() -> any Encoder {
        begin()
        return StreamingEncoder(writer: writer, codingPath: codingPath)
    }
}

struct StreamingSingleValue: SingleValueEncodingContainer, StreamingValueWriter {
    let writer: JSONStreamWriter
    let codingPath: [any CodingKey]

    mutating func encodeNil() throws { writeNil() }
    mutating func encode(_ value: Bool) throws { write(value) }
    mutating func encode(_ value: String) throws { write(value) }
    mutating func encode(_ value: Double) throws { try write(value) }
    mutating func encode(_ value: Float) throws { try write(value) }
    mutating func encode(_ value: Int) throws { write(integer: value) }
    mutating func encode(_ value: Int8) throws { write(integer: value) }
    mutating func encode(_ value: Int16) throws { write(integer: value) }
    mutating func encode(_ value: Int32) throws { write(integer: value) }
    mutating func encode(_ value: Int64) throws { write(integer: value) }
    mutating func encode(_ value: UInt) throws { write(integer: value) }
    mutating func encode(_ value: UInt8) throws { write(integer: value) }
    mutating func encode(_ value: UInt16) throws { write(integer: value) }
    mutating func encode(_ value: UInt32) throws { write(integer: value) }
    mutating func encode(_ value: UInt64) throws { write(integer: value) }
    mutating func encode<T: Encodable>(_ value: T) throws { try write(value) }
}
