/// A type whose JSON object is written field by field through one description, ``writeFields(_:)``, that serves both
/// encoders: the streaming encoder writes the fields straight into its bytes, skipping Codable's generic containers
/// (on a page of list results they cost more than the bytes they wrote), and any other encoder gets them through a
/// keyed container (the default `encode(to:)`). Absent optional fields are left out, as `encodeIfPresent` does.
public protocol JSONFieldsEncodable: Encodable {
    func writeFields(_ object: inout JSONObjectWriter) throws
}

extension JSONFieldsEncodable {
    public func encode(to encoder: any Encoder) throws {
        var object = JSONObjectWriter(container: encoder.container(keyedBy: FieldName.self))
        try writeFields(&object)
    }
}

/// The fields of one JSON object, written to the streaming encoder's bytes or to a keyed container.
public struct JSONObjectWriter {
    /// Exactly one of the two is set.
    private let stream: JSONStreamWriter?
    private var container: KeyedEncodingContainer<FieldName>?
    private var isEmpty = true

    init(stream writer: JSONStreamWriter) {
        stream = writer
        container = nil
    }

    init(container: KeyedEncodingContainer<FieldName>) {
        stream = nil
        self.container = container
    }

    public mutating func field(_ name: String, _ value: String?) throws {
        guard let value else { return }
        if let stream = begin(name) { stream.string(value) } else { try container?.encode(value, forKey: FieldName(name)) }
    }

    public mutating func field(_ name: String, _ value: Bool?) throws {
        guard let value else { return }
        if let stream = begin(name) { stream.raw(value ? "true" : "false") } else { try container?.encode(value, forKey: FieldName(name)) }
    }

    /// `Int` and `Int64` (stored dates) alike.
    public mutating func field(_ name: String, _ value: (some FixedWidthInteger & Encodable)?) throws {
        guard let value else { return }
        if let stream = begin(name) { stream.raw(String(value)) } else { try container?.encode(value, forKey: FieldName(name)) }
    }

    public mutating func field(_ name: String, _ value: IntDate?) throws {
        guard let value else { return }
        if let stream = begin(name) { stream.raw(String(value.seconds)) } else { try container?.encode(value, forKey: FieldName(name)) }
    }

    public mutating func field(_ name: String, _ value: [String: String]?) throws {
        try strings(name, value, sorted: false)
    }

    /// An object of strings written in key order (one that must read the same every time: the audit log's claims).
    public mutating func field(_ name: String, sortingKeysOf value: [String: String]?) throws {
        try strings(name, value, sorted: true)
    }

    private mutating func strings(_ name: String, _ value: [String: String]?, sorted: Bool) throws {
        guard let value else { return }
        guard let stream = begin(name) else { return try container?.encode(value, forKey: FieldName(name)) ?? () }
        if sorted { stream.object(value.sorted { $0.key < $1.key }) } else { stream.object(value) }
    }

    /// A nested object that writes its own fields.
    public mutating func field(_ name: String, _ value: (some JSONFieldsEncodable)?) throws {
        guard let value else { return }
        if let stream = begin(name) { try stream.encodeFields(value) } else { try container?.encode(value, forKey: FieldName(name)) }
    }

    /// An array, element by element.
    public mutating func field(_ name: String, elements: [some Encodable]) throws {
        guard let stream = begin(name) else { return try container?.encode(elements, forKey: FieldName(name)) ?? () }
        stream.raw("[")
        for (index, element) in elements.enumerated() {
            if index > 0 { stream.raw(",") }
            try stream.encodeValue(element)
        }
        stream.raw("]")
    }

    /// Any other value, through its own encoding.
    public mutating func field(_ name: String, _ value: (some Encodable)?) throws {
        guard let value else { return }
        if let stream = begin(name) { try stream.encodeValue(value) } else { try container?.encode(value, forKey: FieldName(name)) }
    }

    /// A string field written as `null` when absent.
    public mutating func nullable(_ name: String, _ value: String?) throws {
        guard value == nil else { return try field(name, value) }
        if let stream = begin(name) { stream.raw("null") } else { try container?.encodeNil(forKey: FieldName(name)) }
    }

    /// Starts a field in the stream (nil when writing to a container).
    private mutating func begin(_ name: String) -> JSONStreamWriter? {
        guard let stream else { return nil }
        if !isEmpty { stream.raw(",") }
        isEmpty = false
        stream.key(name)
        return stream
    }
}

/// A coding key made of a field's name.
public struct FieldName: CodingKey {
    public let stringValue: String
    public var intValue: Int? { nil }

    public init(_ name: String) { stringValue = name }
    public init?(stringValue: String) { self.stringValue = stringValue }
    public init?(intValue: Int) { nil }
}
