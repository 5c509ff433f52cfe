import CoffreJSON
import CoffreModel
import Foundation

/// One secret a security domain carries, named by its tag (the tag is also the label its key is derived with).
public struct SecurityDomainItem: Sendable, Equatable, CustomStringConvertible, CustomDebugStringConvertible, CustomReflectable {
    public var tag: String
    public var plaintext: [UInt8]

    public init(tag: String, plaintext: [UInt8]) {
        self.tag = tag
        self.plaintext = plaintext
    }

    public var description: String { "SecurityDomainItem(\(tag), \(plaintext.count) bytes)" }
    public var debugDescription: String { description }
    public var customMirror: Mirror { Mirror(self, children: ["tag": tag]) }
}

/// A holder of a share: an RSA public key and the SHA-256 thumbprint of its certificate's DER (`x5t_256`).
public struct SecurityDomainRecipient: Sendable {
    public var publicKey: PublicKeyMaterial
    public var certificateThumbprint: [UInt8]

    public init(publicKey: PublicKeyMaterial, certificateThumbprint: [UInt8]) {
        self.publicKey = publicKey
        self.certificateThumbprint = certificateThumbprint
    }
}

/// Why a security domain cannot be made or opened. Messages carry no secret.
public enum SecurityDomainFailure: Error, Equatable, Sendable, CustomStringConvertible {
    /// The document is not JSON of the security domain's shape, or a part of it is not what it must be.
    case malformed(String)
    /// An authentication tag does not verify: the domain was altered, or was not made for these keys.
    case tampered
    /// The domain was wrapped for another transfer key than this pool's.
    case foreignTransferKey
    /// Fewer shares could be opened than the quorum the domain needs.
    case insufficientShares(required: Int, available: Int)
    /// The certificates or quorum of a download are not acceptable.
    case invalidCertificates(String)

    public var description: String {
        switch self {
        case .malformed(let detail): "The security domain is malformed: \(detail)"
        case .tampered: "The security domain failed its integrity check: it was altered or was not made for these keys."
        case .foreignTransferKey: "The security domain was wrapped for another transfer key: download this pool's transfer key and wrap it again."
        case .insufficientShares(let required, let available):
            "The security domain needs \(required) shares and only \(available) could be opened."
        case .invalidCertificates(let detail): detail
        }
    }
}

/// The security domain of a Managed HSM pool in the service's JSON format, as `azure-keyvault-securitydomain` and
/// `az keyvault security-domain` read and write it.
///
/// A download (`SecurityDomainDocument`): a random 32-byte master key encrypts each item (`EncData.data[]`, a `dir`
/// A256CBC-HS512 JWE whose key is SP 800-108(master, label: tag), 512 bits, `kdf` `sp108_kdf`), and is split with
/// ``Shamir257`` among the certificates, each certificate's share list an RSA-OAEP-256 + A256CBC-HS512 JWE to its key
/// (`SharedKeys.enc_shares[]`, with `x5t_256` = base64url SHA-256 of the certificate's DER) with the quorum
/// `required`. An upload (`SecurityDomainRestoreBlob`): the same items under a new master key, the master key
/// RSA-OAEP-256-wrapped to the pool's transfer key (`WrappedKey`).
public enum SecurityDomainFormat {
    public static let kdf = "sp108_kdf"
    static let masterKeyByteCount = 32

    public struct Datum: Codable, Sendable, Equatable {
        public var compact_jwe: String
        public var tag: String
    }

    public struct EncryptedData: Codable, Sendable, Equatable {
        public var data: [Datum]
        public var kdf: String
    }

    public struct EncryptedKey: Codable, Sendable, Equatable {
        public var enc_key: String
        public var x5t_256: String
    }

    public struct SharedKeys: Codable, Sendable, Equatable {
        public var enc_shares: [EncryptedKey]
        public var required: Int
    }

    /// What a download answers (`{"EncData", "SharedKeys"}`).
    public struct Document: Codable, Sendable, Equatable {
        public var encryptedData: EncryptedData
        public var sharedKeys: SharedKeys

        enum CodingKeys: String, CodingKey {
            case encryptedData = "EncData"
            case sharedKeys = "SharedKeys"
        }
    }

    /// What an upload carries (`{"EncData", "WrappedKey"}`).
    public struct RestoreBlob: Codable, Sendable, Equatable {
        public var encryptedData: EncryptedData
        public var wrappedKey: EncryptedKey

        enum CodingKeys: String, CodingKey {
            case encryptedData = "EncData"
            case wrappedKey = "WrappedKey"
        }
    }

    // MARK: - Download

    /// Seals `items` to `recipients` with quorum `required` (2 ≤ required ≤ recipients). Every random choice is drawn
    /// from `random`, in this order: the master key (32 bytes); each item's IV (16); the Shamir coefficients; then per
    /// recipient its content key (64), its OAEP seed (32) and its IV (16).
    public static func seal(
        _ items: [SecurityDomainItem], to recipients: [SecurityDomainRecipient], required: Int, random: any RandomSource
    ) throws -> Document {
        guard (2...recipients.count).contains(required) else {
            throw SecurityDomainFailure.invalidCertificates(
                "The quorum must be at least 2 and at most the number of certificates (\(recipients.count)), got \(required).")
        }
        let master = random.bytes(masterKeyByteCount)
        let data = try encrypt(items, under: master, random: random)
        let shares = try Shamir257.split(master, shares: recipients.count, threshold: required, random: random)
        let encryptedShares = try zip(recipients, shares).map { recipient, share in
            let thumbprint = Base64.urlEncoded(recipient.certificateThumbprint)
            let jwe = try seal(Shamir257.encode(share), to: recipient.publicKey, kid: thumbprint, random: random)
            return EncryptedKey(enc_key: jwe.compact, x5t_256: thumbprint)
        }
        return Document(encryptedData: data, sharedKeys: SharedKeys(enc_shares: encryptedShares, required: required))
    }

    /// The JSON text of a document or blob (keys in declaration order, no whitespace).
    public static func json(_ value: some Encodable) throws -> String {
        String(decoding: try StreamingJSONEncoder.encode(value), as: UTF8.self)
    }

    // MARK: - What a holder of the certificates' keys does

    /// Opens a downloaded domain with the private keys of at least `required` certificates (keyed by thumbprint), as a
    /// client does before an upload.
    public static func recover(_ document: Document, holders: [(certificateThumbprint: [UInt8], privateKey: KeyMaterial)]) throws
        -> [SecurityDomainItem]
    {
        let required = document.sharedKeys.required
        var shares: [[UInt16]] = []
        for encrypted in document.sharedKeys.enc_shares where shares.count < required {
            guard let holder = holders.first(where: { Base64.urlEncoded($0.certificateThumbprint) == encrypted.x5t_256 }) else { continue }
            shares.append(try Shamir257.decode(try open(encrypted.enc_key, with: holder.privateKey)))
        }
        guard shares.count >= required, required >= 2 else {
            throw SecurityDomainFailure.insufficientShares(required: required, available: shares.count)
        }
        let master: [UInt8]
        do {
            master = try Shamir257.combine(shares)
        } catch {
            throw SecurityDomainFailure.tampered
        }
        return try decrypt(document.encryptedData, under: master)
    }

    /// Re-encrypts `items` for an upload to the pool whose transfer key is `transferKey` (its certificate's thumbprint
    /// `transferKeyThumbprint`), as a client does.
    public static func restoreBlob(
        _ items: [SecurityDomainItem], transferKey: PublicKeyMaterial, transferKeyThumbprint: [UInt8], random: any RandomSource
    ) throws -> RestoreBlob {
        let master = random.bytes(masterKeyByteCount)
        let data = try encrypt(items, under: master, random: random)
        let thumbprint = Base64.urlEncoded(transferKeyThumbprint)
        let wrapped = try seal(master, to: transferKey, kid: thumbprint, random: random)
        return RestoreBlob(encryptedData: data, wrappedKey: EncryptedKey(enc_key: wrapped.compact, x5t_256: thumbprint))
    }

    // MARK: - Upload

    /// Reads an upload's JSON text.
    public static func parseRestoreBlob(_ json: String) throws -> RestoreBlob {
        try parse(RestoreBlob.self, json, expecting: "EncData and WrappedKey")
    }

    /// Reads a download's JSON text.
    public static func parseDocument(_ json: String) throws -> Document {
        try parse(Document.self, json, expecting: "EncData and SharedKeys")
    }

    private static func parse<T: Decodable>(_ type: T.Type, _ json: String, expecting members: String) throws -> T {
        do {
            return try JSONDecoder().decode(type, from: Data(json.utf8))
        } catch {
            throw SecurityDomainFailure.malformed("expected a JSON object with \(members)")
        }
    }

    /// The items of an upload, opened with the pool's transfer key (whose certificate's thumbprint is
    /// `transferKeyThumbprint`). Every item is authenticated before any is returned.
    public static func open(_ blob: RestoreBlob, transferKey: KeyMaterial, transferKeyThumbprint: [UInt8]) throws -> [SecurityDomainItem] {
        guard let thumbprint = Base64.decode(blob.wrappedKey.x5t_256), ConstantTime.equals(thumbprint, transferKeyThumbprint) else {
            throw SecurityDomainFailure.foreignTransferKey
        }
        return try decrypt(blob.encryptedData, under: try open(blob.wrappedKey.enc_key, with: transferKey))
    }

    // MARK: - Parts

    private static func encrypt(_ items: [SecurityDomainItem], under master: [UInt8], random: any RandomSource) throws -> EncryptedData {
        let data = try items.map { item in
            let key = try SP800108.counterHMACSHA512(key: master, label: Array(item.tag.utf8), byteCount: CompactJWE.contentKeyByteCount)
            let jwe = try CompactJWE.seal(item.plaintext, header: .init(alg: "dir", kid: item.tag), contentKey: key, random: random)
            return Datum(compact_jwe: jwe.compact, tag: item.tag)
        }
        return EncryptedData(data: data, kdf: kdf)
    }

    private static func decrypt(_ data: EncryptedData, under master: [UInt8]) throws -> [SecurityDomainItem] {
        guard data.kdf == kdf else { throw SecurityDomainFailure.malformed("unknown kdf '\(data.kdf)'") }
        guard !master.isEmpty else { throw SecurityDomainFailure.tampered }
        return try data.data.map { datum in
            let jwe = try jwe(datum.compact_jwe)
            let key = try SP800108.counterHMACSHA512(key: master, label: Array(datum.tag.utf8), byteCount: CompactJWE.contentKeyByteCount)
            return SecurityDomainItem(tag: datum.tag, plaintext: try authenticated { try jwe.open(contentKey: key) })
        }
    }

    /// A JWE to `publicKey`: a fresh content key, RSA-OAEP-256-encrypted to it.
    private static func seal(_ plaintext: [UInt8], to publicKey: PublicKeyMaterial, kid: String, random: any RandomSource) throws
        -> CompactJWE
    {
        let contentKey = random.bytes(CompactJWE.contentKeyByteCount)
        let encryptedKey = try publicKey.encryptRSAOAEP256(contentKey, random: random)
        return try CompactJWE.seal(
            plaintext, header: .init(alg: "RSA-OAEP-256", kid: kid), contentKey: contentKey, encryptedKey: encryptedKey, random: random)
    }

    /// Opens a JWE whose content key is RSA-OAEP(-256)-encrypted to `privateKey`.
    private static func open(_ compact: String, with privateKey: KeyMaterial) throws -> [UInt8] {
        let jwe = try jwe(compact)
        guard ["RSA-OAEP-256", "RSA-OAEP"].contains(jwe.header.alg) else {
            throw SecurityDomainFailure.malformed("a key is wrapped with \(jwe.header.alg), not RSA-OAEP-256")
        }
        return try authenticated { try jwe.open(contentKey: try privateKey.unwrapKey(jwe.header.alg, wrappedKey: jwe.encryptedKey)) }
    }

    private static func jwe(_ compact: String) throws -> CompactJWE {
        do {
            return try CompactJWE(compact: compact)
        } catch {
            throw SecurityDomainFailure.malformed("a value is not a compact JWE")
        }
    }

    /// Any failure to open is ``SecurityDomainFailure/tampered``: no detail that could serve as an oracle.
    private static func authenticated(_ body: () throws -> [UInt8]) throws -> [UInt8] {
        do {
            return try body()
        } catch {
            throw SecurityDomainFailure.tampered
        }
    }
}
