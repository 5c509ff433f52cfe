import CoffreCrypto
import CoffreKeyCustody
import CoffreModel

/// Azure's "bring your own key": a key wrapped for a key-exchange key of the vault (an `RSA-HSM` key whose key_ops are
/// `["import"]`) arrives in the JWK's `key_hsm` member as a `.byok` transfer blob, and is unwrapped where the
/// key-exchange key lives (inside the PKCS#11 module for a token key), so the customer's key is never in Coffre's memory
/// in the clear. Any failure is a 400 and creates nothing.
extension KeyService {
    /// - Parameter jwk: `kty` (`RSA-HSM` or `EC-HSM`), `key_hsm` (the blob), and optionally `crv`, which the wrapped key
    ///   must then be on (the Azure CLI sends it).
    func importBYOK(in vault: VaultName, name: ObjectName, jwk: JsonWebKey, blob: [UInt8], properties: Properties) async throws
        -> Versioned<KeyVersion>
    {
        guard let type = jwk.keyType, type == .rsaHSM || type == .ecHSM else {
            throw CoffreError.badParameter("A key imported with key_hsm (BYOK) is an RSA-HSM or EC-HSM key: set kty to one of them.")
        }
        if let crv = jwk.crv, jwk.curve == nil {
            throw CoffreError.badParameter("'\(crv)' is not a curve: use P-256, P-256K, P-384 or P-521.")
        }
        let transfer = try BYOKTransferBlob(keyHSM: blob)
        let keyExchangeKey = try await keyExchangeKey(transfer.keyExchangeKeyID, in: vault)
        let policy = try Self.checked(properties, for: type, curve: nil, size: nil)
        guard !policy.keyExchange else {
            throw CoffreError.badParameter("A key brought by BYOK cannot be a key-exchange key: its key_ops cannot include 'import'.")
        }
        return try await addVersion(in: vault, name: name, properties: properties, imported: true) { label in
            let key = try await custody.importBYOK(transfer.ciphertext, keyExchangeKey: keyExchangeKey, type: type, policy: policy, label: label)
            if let curve = jwk.curve, key.curve != curve {
                try? await custody.destroy(key)
                throw CoffreError.badParameter("The wrapped key is not on the curve \(curve.rawValue) that crv names.")
            }
            return key
        }
    }

    /// The key-exchange key a blob names (`…/keys/{name}[/{version}]`, a key of this vault): enabled, and created for
    /// `import`.
    private func keyExchangeKey(_ kid: String, in vault: VaultName) async throws -> CustodyKey {
        let path = kid.split(separator: "?").first.map(String.init) ?? kid
        let segments = path.split(separator: "/").map(String.init)
        guard let index = segments.lastIndex(where: { $0.lowercased() == "keys" }), index + 1 < segments.count, index + 3 >= segments.count
        else {
            throw CoffreError.badParameter("The BYOK blob's key-exchange key '\(kid)' is not a key identifier (…/keys/{name}/{version}).")
        }
        let name = segments[index + 1]
        let version = index + 2 < segments.count ? segments[index + 2] : nil
        let key: Versioned<KeyVersion>
        do {
            key = try await get(in: vault, name: name, version: version)
        } catch CoffreError.notFound, CoffreError.versionNotFound {
            throw CoffreError.badParameter("The BYOK blob's key-exchange key '\(kid)' is not a key of this vault.")
        }
        guard key.record.attributes.enabled else { throw CoffreError.disabled(.key, operation: "import") }
        guard key.record.keyOps.contains("import") else { throw CustodyFailure.notAKeyExchangeKey }
        return try custodyKey(of: key, in: vault)
    }
}
