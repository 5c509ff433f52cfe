import Foundation

/// The stored forms of this module (token key references, hardware key backups): two magic bytes that say what it is,
/// a format version, then the value as JSON with sorted keys.
struct TaggedJSON {
    let magic: [UInt8]
    let version: UInt8

    func isTagged(_ bytes: [UInt8]) -> Bool { bytes.starts(with: magic) }

    /// Values of strings, booleans and JWKs always encode.
    func encode(_ value: some Encodable) -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        return magic + [version] + Array(try! encoder.encode(value))
    }

    /// `nil` for bytes of another tag or version, or that do not decode.
    func decode<T: Decodable>(_ type: T.Type, from bytes: [UInt8]) -> T? {
        guard bytes.count > magic.count + 1, isTagged(bytes), bytes[magic.count] == version else { return nil }
        return try? JSONDecoder().decode(type, from: Data(bytes.dropFirst(magic.count + 1)))
    }
}
