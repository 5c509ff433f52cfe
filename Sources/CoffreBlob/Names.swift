import CoffreModel

/// A storage account name, by Azure's rule: 3–24 lower-case letters and digits (it is the first label of the Blob
/// service's host name).
public struct StorageAccountName: Hashable, Sendable, Codable, CustomStringConvertible {
    public let value: String

    public init(_ value: String) throws {
        guard Self.isValid(value) else {
            throw CoffreError.badParameter(
                "\(String(value.prefix(64))) is not a valid storage account name. Storage account name must be between 3 and 24 characters in "
                    + "length and use numbers and lower-case letters only.")
        }
        self.value = value
    }

    static func isValid(_ value: String) -> Bool {
        (3...24).contains(value.utf8.count)
            && value.utf8.allSatisfy { (UInt8(ascii: "a")...UInt8(ascii: "z")).contains($0) || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) }
    }

    public var description: String { value }

    public init(from decoder: any Decoder) throws { try self.init(try decoder.singleValueContainer().decode(String.self)) }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(value)
    }
}

/// A container name, by Azure's rule: 3–63 characters of lower-case letters, digits and hyphens, starting with a letter
/// or digit, without consecutive hyphens (or `$root`).
struct ContainerName: Hashable, Sendable, CustomStringConvertible {
    let value: String

    init(_ value: String) throws(BlobError) {
        let bytes = Array(value.utf8)
        guard value == "$root" || (3...63).contains(bytes.count) else { throw BlobError.outOfRange("container name length") }
        let allowed = bytes.allSatisfy { byte in
            (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte) || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte)
                || byte == UInt8(ascii: "-")
        }
        guard value == "$root" || (allowed && bytes.first != UInt8(ascii: "-") && bytes.last != UInt8(ascii: "-") && !value.contains("--")) else {
            throw BlobError(.invalidResourceName)
        }
        self.value = value
    }

    var description: String { value }
}

/// A blob name: 1–1024 characters, any Unicode. In storage keys it is written in an order-preserving ASCII form
/// (`StoredName`), which a name must fit in 2048 characters of: every ASCII name of up to 1024 characters does, and a
/// name of multi-byte characters up to 1024 UTF-8 bytes.
struct BlobName: Hashable, Sendable, CustomStringConvertible {
    let value: String
    let stored: String

    static let maximumCharacters = 1024
    static let maximumStoredLength = 2048

    init(_ value: String) throws(BlobError) {
        guard !value.isEmpty, value.count <= Self.maximumCharacters else { throw BlobError.outOfRange("blob name length") }
        let stored = StoredName.encode(value)
        guard stored.utf8.count <= Self.maximumStoredLength else {
            throw BlobError.outOfRange("the blob name is longer than Coffre stores (2048 characters in its stored form)")
        }
        self.value = value
        self.stored = stored
    }

    var description: String { value }
}

/// An order-preserving ASCII encoding of names for storage keys: keys compare byte-wise, and names must list in the
/// byte order of their UTF-8 form, as Azure lists them. Bytes 0x22–0x7B stand for themselves; the others take two
/// characters, an escape that sorts below (`!`, for 0x00–0x21) or above (`}` for 0x7C–0xBF, `~` for 0xC0–0xFF) every
/// plain byte, followed by one character in the byte's order. No escape is a plain byte, so the encoding is
/// prefix-free and order-preserving.
enum StoredName {
    static func encode(_ name: String) -> String {
        var output: [UInt8] = []
        output.reserveCapacity(name.utf8.count)
        for byte in name.utf8 {
            switch byte {
            case 0x22...0x7B: output.append(byte)
            case 0x00...0x21: output += [UInt8(ascii: "!"), 0x21 + byte]
            case 0x7C...0xBF: output += [UInt8(ascii: "}"), 0x21 + (byte - 0x7C)]
            default: output += [UInt8(ascii: "~"), 0x21 + (byte - 0xC0)]
            }
        }
        return String(decoding: output, as: UTF8.self)
    }

    /// Decodes what `encode` wrote.
    static func decode(_ stored: String) -> String {
        var output: [UInt8] = []
        var escape: UInt8?
        for byte in stored.utf8 {
            if let pending = escape {
                switch pending {
                case UInt8(ascii: "!"): output.append(byte &- 0x21)
                case UInt8(ascii: "}"): output.append(byte &- 0x21 &+ 0x7C)
                default: output.append(byte &- 0x21 &+ 0xC0)
                }
                escape = nil
            } else if byte == UInt8(ascii: "!") || byte == UInt8(ascii: "}") || byte == UInt8(ascii: "~") {
                escape = byte
            } else {
                output.append(byte)
            }
        }
        return String(decoding: output, as: UTF8.self)
    }
}
