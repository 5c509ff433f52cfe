import CoffreAuth
import CoffreCore
import CoffreCrypto
import CoffreModel

/// Signs key release statements as Key Vault writes them: a JWS (RS256, by Coffre's token-signing key, which its JWKS
/// publishes) of the request and the released key bundle.
public struct WireKeyReleaseSigner: KeyReleaseSigner {
    let keyring: SigningKeyring

    public init(keyring: SigningKeyring) { self.keyring = keyring }

    /// The signed document: the request it answers, and the key with its private part wrapped to the attested runtime.
    struct Statement: Encodable {
        struct Request: Encodable {
            var api_version: String
            var enc: String
            var kid: String
            var nonce: String?

            enum CodingKeys: String, CodingKey {
                case api_version = "api-version"
                case enc, kid, nonce
            }
        }

        struct ReleasedBundle: Encodable {
            var key: JsonWebKey
            var attributes: WireAttributes
            var tags: [String: String]?
            var release_policy: WireReleasePolicy?
        }

        struct Body: Encodable { var key: ReleasedBundle }

        var request: Request
        var response: Body
        var iat: Int64
    }

    public func sign(_ statement: KeyReleaseStatement) throws -> String {
        let record = statement.key.record
        var jwk = statement.releasedKey
        jwk.kid = VaultURL(base: statement.vaultURL).object(.key, statement.key.name, version: record.version)
        let document = Statement(
            request: .init(api_version: statement.apiVersion, enc: statement.encryption, kid: jwk.kid ?? "", nonce: statement.nonce),
            response: .init(
                key: .init(
                    key: jwk, attributes: WireAttributes(record.attributes, vault: statement.vault), tags: record.tags,
                    release_policy: record.releasePolicy.map(WireReleasePolicy.init))),
            iat: statement.issuedAt)
        let (kid, key) = keyring.signer
        return try JWT.sign(document, key: key, kid: kid)
    }
}
