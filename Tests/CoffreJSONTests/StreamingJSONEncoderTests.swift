import Foundation
import Testing

@testable import CoffreJSON

/// A page of results as the wire models write one: elements, then a field written as `null` when absent.
struct FieldsPage<Item: Encodable>: JSONFieldsEncodable {
    var value: [Item]
    var nextLink: String?

    func writeFields(_ object: inout JSONObjectWriter) throws {
        try object.field("value", elements: value)
        try object.nullable("nextLink", nextLink)
    }
}

@Suite struct StreamingJSONEncoderTests {
    struct Inner: Encodable {
        var name = "a \"quoted\" \\ name\n\t\u{1}é/slash"
        var numbers: [Int] = [1, -2, 3]
        var empty: [String] = []
        var nothing: String?
        var tags: [String: String]? = ["k": "v", "x": ""]
    }

    enum Shape: Encodable {
        case circle(radius: Int)
        case square
    }

    /// Uses nested and super containers out of the ordinary order of synthesised code.
    struct Handwritten: Encodable {
        func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: AnyKey.self)
            var nested = container.nestedContainer(keyedBy: AnyKey.self, forKey: AnyKey("nested"))
            try nested.encode(true, forKey: AnyKey("flag"))
            var list = nested.nestedUnkeyedContainer(forKey: AnyKey("list"))
            try list.encodeNil()
            try list.encode(1.5)
            var deeper = list.nestedContainer(keyedBy: AnyKey.self)
            try deeper.encode(UInt8(7), forKey: AnyKey("byte"))
            try container.encode("after", forKey: AnyKey("after"))
            try container.encodeNil(forKey: AnyKey("null"))
            try Inner().encode(to: container.superEncoder(forKey: AnyKey("super")))
            try container.encode(Data([0, 1, 2, 250]), forKey: AnyKey("data"))
            try container.encode(2.0, forKey: AnyKey("double"))
        }
    }

    struct AnyKey: CodingKey {
        var stringValue: String
        var intValue: Int? { nil }
        init(_ value: String) { stringValue = value }
        init?(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
    }

    struct Everything: Encodable {
        var inner = Inner()
        var shapes: [Shape] = [.circle(radius: 2), .square]
        var handwritten = Handwritten()
        var page = FieldsPage(value: [Inner(), Inner(name: "b")], nextLink: nil)
        var optionalList: [Int?] = [nil, 4]
        var largest = Int64.max
        var smallest = Int64.min
        var float: Float = 0.25
    }

    /// Every kind of field a ``JSONFieldsEncodable`` writes.
    struct Fields: JSONFieldsEncodable {
        var text: String? = "a \"q\"\n"
        var flag: Bool? = false
        var count: Int? = -3
        var date: IntDate? = IntDate(1_700_000_000)
        var tags: [String: String]? = ["k": "v", "é": "\u{1}", "": ""]
        var nested: Inner? = Inner()
        var list: [Int]? = [1, 2]
        var leaf: Leaf? = Leaf()
        var leaves: [Leaf] = [Leaf(), Leaf(n: nil)]
        var link: String?

        func writeFields(_ object: inout JSONObjectWriter) throws {
            try object.field("text", text)
            try object.field("flag", flag)
            try object.field("count", count)
            try object.field("date", date)
            try object.field("tags", tags)
            try object.field("nested", nested)
            try object.field("list", list)
            try object.field("leaf", leaf)
            try object.field("leaves", elements: leaves)
            try object.nullable("link", link)
        }
    }

    struct Leaf: JSONFieldsEncodable {
        var n: Int? = 1
        func writeFields(_ object: inout JSONObjectWriter) throws { try object.field("n", n) }
    }

    static let noFields = Fields(text: nil, flag: nil, count: nil, date: nil, tags: nil, nested: nil, list: nil, leaf: nil, leaves: [], link: nil)

    @Test func fieldsAreStreamedAsTheKeyedContainerWritesThem() throws {
        for value in [[Fields(), Self.noFields, Fields(tags: [:], link: "next")]] {
            #expect(try Self.parsed(StreamingJSONEncoder.encode(value)) == Self.parsed(Self.foundation(value)))
        }
        #expect(try StreamingJSONEncoder.encode(Self.noFields) == Array(#"{"leaves":[],"link":null}"#.utf8))
        #expect(
            try StreamingJSONEncoder.encode(Fields(tags: ["k": "v"])).starts(
                with: Array(#"{"text":"a \"q\"\n","flag":false,"count":-3,"date":1700000000,"tags":{"k":"v"},"nested":{"#.utf8)))
    }

    static func parsed(_ bytes: [UInt8]) throws -> NSObject {
        try #require(try JSONSerialization.jsonObject(with: Data(bytes), options: [.fragmentsAllowed]) as? NSObject)
    }

    static func foundation(_ value: some Encodable) throws -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = .withoutEscapingSlashes
        return Array(try encoder.encode(value))
    }

    @Test func writesTheDocumentFoundationWrites() throws {
        let streamed = try StreamingJSONEncoder.encode(Everything())
        #expect(try Self.parsed(streamed) == Self.parsed(try Self.foundation(Everything())))
        #expect(String(decoding: streamed, as: UTF8.self).contains(#"\"quoted\" \\ name\n\t\u0001é/slash"#))
    }

    @Test func scalarsAndEmptyValuesAtTheTop() throws {
        #expect(try StreamingJSONEncoder.encode("x") == Array(#""x""#.utf8))
        #expect(try StreamingJSONEncoder.encode(Optional<Int>.none) == Array("null".utf8))
        #expect(try StreamingJSONEncoder.encode([String: Int]()) == Array("{}".utf8))
        #expect(try StreamingJSONEncoder.encode([Int]()) == Array("[]".utf8))
        #expect(try StreamingJSONEncoder.encode(FieldsPage<Int>(value: [], nextLink: nil)) == Array(#"{"value":[],"nextLink":null}"#.utf8))
    }

    @Test func nonFiniteNumbersAreRefused() {
        #expect(throws: EncodingError.self) { try StreamingJSONEncoder.encode([Double.nan]) }
    }
}
