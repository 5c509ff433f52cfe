import CoffreCrypto
import Testing

@testable import CoffreBlob

/// The small formats under the service: stored names, dates, XML, percent-encoding, the service's header order.
@Suite struct FormatTests {
    @Test func storedNamesRoundTripAndKeepTheByteOrderOfNames() {
        var generator = SystemRandomNumberGenerator()
        let alphabet: [Character] = ["a", "Z", "0", "/", " ", "!", "\"", "~", "|", "}", "{", "\u{7f}", "\u{1}", "é", "日", "😀", "-", "."]
        let names = (0..<400).map { _ in
            String((0..<Int.random(in: 1...6, using: &generator)).map { _ in alphabet.randomElement(using: &generator)! })
        }
        for name in names { #expect(StoredName.decode(StoredName.encode(name)) == name) }
        for (a, b) in zip(names, names.shuffled(using: &generator)) {
            let bytes = Array(a.utf8).lexicographicallyPrecedes(Array(b.utf8))
            let stored = Array(StoredName.encode(a).utf8).lexicographicallyPrecedes(Array(StoredName.encode(b).utf8))
            #expect(bytes == stored, "\(a) \(b)")
            #expect(StoredName.encode(a).utf8.allSatisfy { (0x21...0x7E).contains($0) })
        }
        #expect(StoredName.encode("dir/x").hasPrefix(StoredName.encode("dir/")))
    }

    @Test func blobNamesHaveLimits() throws {
        #expect(throws: BlobError.self) { try BlobName("") }
        #expect(try BlobName(String(repeating: "a", count: 1024)).value.count == 1024)
        #expect(throws: BlobError.self) { try BlobName(String(repeating: "a", count: 1025)) }
        #expect(throws: BlobError.self) { try BlobName(String(repeating: "日", count: 400)) }
    }

    @Test func datesAreWrittenAndReadAsTheServiceDoes() {
        #expect(StorageDate.rfc1123(0) == "Thu, 01 Jan 1970 00:00:00 GMT")
        #expect(StorageDate.rfc1123(1_796_656_539) == "Mon, 07 Dec 2026 15:15:39 GMT")
        #expect(StorageDate.parseRFC1123("Mon, 07 Dec 2026 15:15:39 GMT") == 1_796_656_539)
        #expect(StorageDate.iso8601(1_767_225_600) == "2026-01-01T00:00:00Z")
        #expect(StorageDate.parseISO8601("2026-01-01") == 1_767_225_600)
        #expect(StorageDate.parseISO8601("2026-01-01T00:00Z") == 1_767_225_600)
        #expect(StorageDate.parseISO8601("2026-01-01T00:00:01.1234567Z") == 1_767_225_601)
        #expect(StorageDate.parseISO8601("2024-02-29T12:00:00Z") == 1_709_208_000)
        #expect(StorageDate.parseRFC1123("Mon, 07 Dec 99999999999999999 15:15:39 GMT") == nil)
        for bad in ["2026-02-30", "2026-01-01T25:00Z", "2026-01-01T00:00:00", "yesterday", "2026-01-01T00:00:00.Z", "0000-01-01"] {
            #expect(StorageDate.parseISO8601(bad) == nil, "\(bad)")
        }
        #expect(StorageDate.errorTime(0) == "1970-01-01T00:00:00.0000000Z")
    }

    @Test func xmlIsReadAndWritten() {
        let parsed = XMLElement.parse(
            Array(
                "\u{FEFF}<?xml version='1.0' encoding='utf-8'?>\n<!-- c --><A x=\"1 &amp; 2\"><B>t&lt;&#x41;&#66;</B><C/><B><![CDATA[<raw>]]></B></A>"
                    .utf8))
        #expect(parsed?.attributes["x"] == "1 & 2")
        #expect(parsed?.children("B").map(\.text) == ["t<AB", "<raw>"])
        #expect(parsed?.child("C")?.children.isEmpty == true)
        for bad in ["<A>", "<A></B>", "<A>&bogus;</A>", "<A/><B/>", "text"] { #expect(XMLElement.parse(Array(bad.utf8)) == nil, "\(bad)") }
        let deep = String(repeating: "<a>", count: 100_000) + String(repeating: "</a>", count: 100_000)
        #expect(XMLElement.parse(Array(deep.utf8)) == nil)
        #expect(XMLElement.parse(Array((String(repeating: "<a>", count: 32) + String(repeating: "</a>", count: 32)).utf8)) != nil)
        var writer = XMLWriter()
        writer.open("E", attributes: [("a", "\"<&>")])
        writer.element("V", "a<b&c")
        writer.element("N", nil)
        writer.close("E")
        #expect(writer.text == #"<?xml version="1.0" encoding="utf-8"?><E a="&quot;&lt;&amp;&gt;"><V>a&lt;b&amp;c</V><N /></E>"#)
        #expect(XMLElement.parse(writer.bytes)?.attributes["a"] == "\"<&>")
    }

    @Test func headerNamesSortAsTheServiceSortsThem() {
        let names = [
            "x-ms-meta-a_b", "x-ms-meta-ab", "x-ms-date", "x-ms-meta-a", "x-ms-blob-type", "x-ms-meta-A1", "x-ms-version", "x-ms-client-request-id",
        ]
        let sorted = names.sorted { SharedKey.serviceOrder($0, $1) < 0 }
        #expect(
            sorted == [
                "x-ms-blob-type", "x-ms-client-request-id", "x-ms-date", "x-ms-meta-a", "x-ms-meta-a_b", "x-ms-meta-A1", "x-ms-meta-ab",
                "x-ms-version",
            ])
        // Hyphens are ignored first, then decide ties.
        #expect(SharedKey.serviceOrder("x-ms-meta-ab", "x-ms-meta-a-c") < 0)
        #expect(SharedKey.serviceOrder("x-ms-ab", "x-ms-a-b") < 0)
        #expect(SharedKey.serviceOrder("x-ms-a", "x-ms-a") == 0)
    }

    @Test func sasAddressRangesAreInclusiveAndIPv4Only() throws {
        let error = BlobError.authenticationFailed("x")
        let range = try #require(try IPv4Range("10.0.0.1-10.0.0.3", error: error))
        #expect(range.contains("10.0.0.1") && range.contains("10.0.0.3") && range.contains("::ffff:10.0.0.2"))
        #expect(!range.contains("10.0.0.4") && !range.contains("::1") && !range.contains(nil))
        #expect(try IPv4Range("", error: error) == nil)
        for bad in ["10.0.0", "10.0.0.300", "10.0.0.3-10.0.0.1", "a.b.c.d"] { #expect(throws: BlobError.self) { try IPv4Range(bad, error: error) } }
    }
}
