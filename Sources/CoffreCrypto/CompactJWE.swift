import CoffreJSON
import CoffreModel
import Crypto
import Foundation
import _CryptoExtras

/// A compact JWE (RFC 7516 §7.1) whose content is encrypted with A256CBC-HS512 (RFC 7518 §5.2.5): the 64-byte
/// content key is a 32-byte HMAC-SHA-512 key followed by a 32-byte AES-256-CBC key; the tag is the first 32 bytes of
/// HMAC(ASCII(protected header) ‖ IV ‖ ciphertext ‖ [bit length of the header]₆₄). The content key is either the
/// key itself (`alg` `dir`, empty encrypted key) or carried RSA-OAEP-256-encrypted in the second part.
public struct CompactJWE: Sendable, Equatable {
    public struct Header: Codable, Sendable, Equatable {
        public var alg: String
        public var enc: String
        public var kid: String?

        public init(alg: String, enc: String = CompactJWE.contentEncryption, kid: String? = nil) {
            self.alg = alg
            self.enc = enc
            self.kid = kid
        }
    }

    public static let contentEncryption = "A256CBC-HS512"
    public static let contentKeyByteCount = 64

    public let header: Header
    /// The first part as sent: the MAC covers these characters, not a re-encoding of `header`.
    public let encodedHeader: String
    public let encryptedKey: [UInt8]
    public let iv: [UInt8]
    public let ciphertext: [UInt8]
    public let tag: [UInt8]

    /// Reads the five dot-separated parts; `CryptoFailure.invalidInput` when they are not base64url or the header is
    /// not a JSON object with `alg` and `enc`.
    public init(compact: String) throws {
        let parts = compact.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 5, let headerBytes = Base64.decode(parts[0]),
            let header = try? JSONDecoder().decode(Header.self, from: Data(headerBytes)),
            let encryptedKey = Base64.decode(parts[1]), let iv = Base64.decode(parts[2]), let ciphertext = Base64.decode(parts[3]),
            let tag = Base64.decode(parts[4])
        else { throw CryptoFailure.invalidInput("not a compact JWE") }
        self.init(header: header, encodedHeader: String(parts[0]), encryptedKey: encryptedKey, iv: iv, ciphertext: ciphertext, tag: tag)
    }

    private init(header: Header, encodedHeader: String, encryptedKey: [UInt8], iv: [UInt8], ciphertext: [UInt8], tag: [UInt8]) {
        self.header = header
        self.encodedHeader = encodedHeader
        self.encryptedKey = encryptedKey
        self.iv = iv
        self.ciphertext = ciphertext
        self.tag = tag
    }

    public var compact: String {
        [encodedHeader, Base64.urlEncoded(encryptedKey), Base64.urlEncoded(iv), Base64.urlEncoded(ciphertext), Base64.urlEncoded(tag)]
            .joined(separator: ".")
    }

    /// Encrypts `plaintext` under `contentKey` with a 16-byte IV drawn from `random`; `encryptedKey` is the content key
    /// as the recipient receives it (empty for `dir`).
    public static func seal(
        _ plaintext: [UInt8], header: Header, contentKey: [UInt8], encryptedKey: [UInt8] = [], random: any RandomSource
    ) throws -> CompactJWE {
        let (macKey, encryptionKey) = try split(contentKey)
        let encodedHeader = Base64.urlEncoded(try StreamingJSONEncoder.encode(header))
        let iv = random.bytes(16)
        let ciphertext = Array(try AES._CBC.encrypt(plaintext, using: encryptionKey, iv: AES._CBC.IV(ivBytes: iv)))
        let tag = authenticationTag(macKey, encodedHeader: encodedHeader, iv: iv, ciphertext: ciphertext)
        return CompactJWE(header: header, encodedHeader: encodedHeader, encryptedKey: encryptedKey, iv: iv, ciphertext: ciphertext, tag: tag)
    }

    /// The plaintext, when the tag verifies under `contentKey` (compared in constant time) and the padding is sound;
    /// `CryptoFailure.authenticationFailed` otherwise, whatever the cause.
    public func open(contentKey: [UInt8]) throws -> [UInt8] {
        guard header.enc == Self.contentEncryption else { throw CryptoFailure.unsupported("JWE content encryption \(header.enc)") }
        let (macKey, encryptionKey) = try Self.split(contentKey)
        let expected = Self.authenticationTag(macKey, encodedHeader: encodedHeader, iv: iv, ciphertext: ciphertext)
        guard ConstantTime.equals(tag, expected), iv.count == 16 else { throw CryptoFailure.authenticationFailed }
        do {
            return Array(try AES._CBC.decrypt(ciphertext, using: encryptionKey, iv: AES._CBC.IV(ivBytes: iv)))
        } catch {
            throw CryptoFailure.authenticationFailed
        }
    }

    private static func split(_ contentKey: [UInt8]) throws -> (mac: SymmetricKey, encryption: SymmetricKey) {
        guard contentKey.count == contentKeyByteCount else { throw CryptoFailure.invalidKey("an A256CBC-HS512 content key is 64 bytes") }
        return (SymmetricKey(data: contentKey[..<32]), SymmetricKey(data: contentKey[32...]))
    }

    private static func authenticationTag(_ macKey: SymmetricKey, encodedHeader: String, iv: [UInt8], ciphertext: [UInt8]) -> [UInt8] {
        let associatedData = Array(encodedHeader.utf8)
        let bitLength = UInt64(associatedData.count) * 8
        let input = associatedData + iv + ciphertext + withUnsafeBytes(of: bitLength.bigEndian, Array.init)
        return Array(HMAC<SHA512>.authenticationCode(for: input, using: macKey).prefix(32))
    }
}
