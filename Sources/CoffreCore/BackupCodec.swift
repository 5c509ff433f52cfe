import CoffreCrypto
import CoffreModel
import Foundation

/// Seals per-object backups (`/backup`, `/restore`) under the server's backup key: AES-256-GCM, bound to the
/// object kind, so only a Coffre holding the same backup key can open a blob and any change to it is detected.
public struct BackupCodec: Sendable {
    private let key: AEADKey
    private static let magic: [UInt8] = Array("CFB1".utf8)

    public init(key: AEADKey) { self.key = key }

    public func seal(_ payload: some Encodable, kind: ObjectKind) throws -> String { try seal(payload, label: kind.rawValue) }

    public func open<T: Decodable>(_ blob: String, as type: T.Type, kind: ObjectKind) throws -> T {
        try open(blob, as: type, label: kind.rawValue, noun: kind.noun)
    }

    /// - Parameter label: what the blob holds (`secret`, `storage`): a blob opens only as what it was sealed as.
    public func seal(_ payload: some Encodable, label: String) throws -> String {
        let plaintext = try JSONEncoder().encode(payload)
        return Base64.urlEncoded(Self.magic + (try key.seal(plaintext, authenticating: Self.aad(label))))
    }

    /// - Parameter noun: how refusals name what was expected (`storage account`).
    public func open<T: Decodable>(_ blob: String, as type: T.Type, label: String, noun: String) throws -> T {
        guard let bytes = Base64.decode(blob), bytes.count > 4, Array(bytes.prefix(4)) == Self.magic,
            let plaintext = try? key.open(bytes.dropFirst(4), authenticating: Self.aad(label)),
            let payload = try? JSONDecoder().decode(type, from: Data(plaintext))
        else {
            throw CoffreError.badParameter(
                "The backup blob is invalid: it was altered, is not a \(noun) backup, or was made by a server with another backup key.")
        }
        return payload
    }

    private static func aad(_ label: String) -> [UInt8] { Array("coffre-backup/v1/\(label)".utf8) }
}
