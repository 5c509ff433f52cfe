import NIOCore

/// A request body whose members are usually all strings, read without `JSONDecoder` when they are: the bodies of the
/// cryptographic operations (sign, verify, encrypt, decrypt, wrap, unwrap), the hot path of a service that signs or
/// unwraps per request, and the usual bodies of set secret and create key. Anything else goes through `Decodable`.
protocol FlatJSONDecodable: Decodable {
    /// The members that are strings; members that are `null` are absent, as `Decodable` reads an optional. `nil` when
    /// a member that the type does not read as a string is present (`Decodable` decides then).
    init?(flat members: [String: String])
}

extension [String: String] {
    /// Whether none of `names` is a member: a `FlatJSONDecodable` type lists its members that are not strings.
    func lacks(_ names: String...) -> Bool { names.allSatisfy { self[$0] == nil } }
}

/// Reads a JSON object of string and `null` members, the common case of those bodies. It answers `nil` for anything it
/// does not read exactly as `JSONDecoder` would (an escape, a byte outside printable ASCII, a member of another type, a
/// repeated name, malformed input), so that the caller falls back to `JSONDecoder`, its results and its errors.
enum FlatJSON {
    static func members(of body: ByteBuffer) -> [String: String]? {
        body.withUnsafeReadableBytes { bytes in
            var reader = Reader(bytes: bytes)
            return reader.object()
        }
    }

    private struct Reader {
        let bytes: UnsafeRawBufferPointer
        var index = 0

        init(bytes: UnsafeRawBufferPointer) { self.bytes = bytes }

        mutating func object() -> [String: String]? {
            var members: [String: String] = Dictionary(minimumCapacity: 4)
            var nulls: Set<String> = []
            guard take(UInt8(ascii: "{")) else { return nil }
            if !take(UInt8(ascii: "}")) {
                repeat {
                    guard let name = string(), take(UInt8(ascii: ":")), members[name] == nil, !nulls.contains(name) else { return nil }
                    if let value = string() {
                        members[name] = value
                    } else if literalNull() {
                        nulls.insert(name)
                    } else {
                        return nil
                    }
                } while take(UInt8(ascii: ","))
                guard take(UInt8(ascii: "}")) else { return nil }
            }
            skipWhitespace()
            return index == bytes.count ? members : nil
        }

        /// A string without escapes whose bytes are printable ASCII.
        mutating func string() -> String? {
            guard take(UInt8(ascii: "\"")) else { return nil }
            let start = index
            while index < bytes.count {
                let byte = bytes[index]
                if byte == UInt8(ascii: "\"") {
                    defer { index += 1 }
                    return String(decoding: UnsafeRawBufferPointer(rebasing: bytes[start..<index]), as: UTF8.self)
                }
                guard byte >= 0x20, byte < 0x7f, byte != UInt8(ascii: "\\") else { return nil }
                index += 1
            }
            return nil
        }

        mutating func literalNull() -> Bool {
            skipWhitespace()
            let null = "null".utf8
            guard bytes.count - index >= null.count, bytes[index..<index + null.count].elementsEqual(null) else { return false }
            index += null.count
            return true
        }

        /// Skips whitespace, then consumes `byte` if it comes next.
        mutating func take(_ byte: UInt8) -> Bool {
            skipWhitespace()
            guard index < bytes.count, bytes[index] == byte else { return false }
            index += 1
            return true
        }

        mutating func skipWhitespace() {
            while index < bytes.count {
                switch bytes[index] {
                case UInt8(ascii: " "), UInt8(ascii: "\t"), UInt8(ascii: "\n"), UInt8(ascii: "\r"): index += 1
                default: return
                }
            }
        }
    }
}
