import CoffreCrypto
import Foundation

/// Azure's "bring your own key" transfer blob: the `.byok` file whose bytes a client puts verbatim in the JWK's
/// `key_hsm` member (`T`).
///
/// ```json
/// {"schema_version": "1.0.0",
///  "header": {"kid": "<key-exchange key id>", "alg": "dir", "enc": "CKM_RSA_AES_KEY_WRAP"},
///  "ciphertext": "<base64url>", "generator": "<tool>"}
/// ```
///
/// The ciphertext (`CKM_RSA_AES_KEY_WRAP`) is an ephemeral AES-256 key wrapped by the key-exchange key's public key
/// with RSA-OAEP (SHA-1, MGF1-SHA-1), followed by the target private key (PKCS#8 DER) wrapped by that AES key with
/// AES key wrap with padding (RFC 5649).
public struct BYOKTransferBlob: Sendable, Equatable {
    /// The key-exchange key the blob was made for (`header.kid`): which key must unwrap it.
    public let keyExchangeKeyID: String
    public let ciphertext: [UInt8]

    public static let encryption = "CKM_RSA_AES_KEY_WRAP"

    public init(keyExchangeKeyID: String, ciphertext: [UInt8]) {
        self.keyExchangeKeyID = keyExchangeKeyID
        self.ciphertext = ciphertext
    }

    private struct File: Codable {
        struct Header: Codable {
            var kid: String?
            var alg: String?
            var enc: String?
        }

        var header: Header?
        var ciphertext: String?
    }

    /// Reads the blob from the bytes of a `key_hsm` member.
    public init(keyHSM bytes: [UInt8]) throws {
        guard let file = try? JSONDecoder().decode(File.self, from: Data(bytes)) else {
            throw CustodyFailure.invalidBYOK("key_hsm is not a BYOK transfer blob (JSON with header and ciphertext)")
        }
        guard let header = file.header, let kid = header.kid, !kid.isEmpty else {
            throw CustodyFailure.invalidBYOK("the blob's header names no key-exchange key (kid)")
        }
        guard header.enc == Self.encryption else {
            throw CustodyFailure.invalidBYOK("the blob's encryption must be \(Self.encryption)")
        }
        guard header.alg == nil || header.alg == "dir" else {
            throw CustodyFailure.invalidBYOK("the blob's alg must be dir")
        }
        guard let text = file.ciphertext, let ciphertext = Base64.decode(text), !ciphertext.isEmpty else {
            throw CustodyFailure.invalidBYOK("the blob's ciphertext is missing or not base64url")
        }
        self.init(keyExchangeKeyID: kid, ciphertext: ciphertext)
    }

    /// The blob as the Azure tooling writes it.
    public var keyHSM: [UInt8] {
        let file: [String: Any] = [
            "schema_version": "1.0.0",
            "header": ["kid": keyExchangeKeyID, "alg": "dir", "enc": Self.encryption],
            "ciphertext": Base64.urlEncoded(ciphertext),
            "generator": "Coffre",
        ]
        // Strings and a dictionary of strings always serialize.
        return Array(try! JSONSerialization.data(withJSONObject: file, options: [.sortedKeys]))
    }

    /// The two parts of a `CKM_RSA_AES_KEY_WRAP` ciphertext for a key-exchange key of `modulusByteCount` bytes: the
    /// RSA-OAEP-wrapped AES key (as long as the modulus) and the AES-wrapped private key (RFC 5649: at least 16 bytes,
    /// in multiples of 8).
    static func split(_ ciphertext: [UInt8], modulusByteCount: Int) throws -> (wrappedAESKey: [UInt8], wrappedKey: [UInt8]) {
        let rest = ciphertext.count - modulusByteCount
        guard rest >= 16, rest.isMultiple(of: 8) else {
            throw CustodyFailure.invalidBYOK(
                "the ciphertext must be the \(modulusByteCount)-byte wrapped AES key of this key-exchange key followed by "
                    + "an AES-wrapped private key")
        }
        return (Array(ciphertext.prefix(modulusByteCount)), Array(ciphertext.suffix(rest)))
    }

    /// The message of every failure to unwrap a well-formed blob, whatever its cause.
    static let notUnwrappable = CustodyFailure.invalidBYOK(
        "it does not unwrap with this key-exchange key: it was altered or made for another key")
}
