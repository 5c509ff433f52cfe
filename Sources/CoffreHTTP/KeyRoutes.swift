import CoffreAuth
import CoffreCore
import CoffreCrypto
import CoffreModel
import Hummingbird

/// The Keys API (`/keys`, `/deletedkeys`, `/rng`).
struct KeyRoutes: Sendable {
    let keys: KeyService

    var routes: [DataPlaneRoute] {
        [
            Route(.get, "keys", .keyList, list),
            Route(.post, "keys/restore", .keyRestore, restore),
            Route(.post, "keys/{name}/create", .keyCreate, create),
            Route(.put, "keys/{name}", .keyImport, importKey),
            Route(.delete, "keys/{name}", .keyDelete, delete),
            Route(.get, "keys/{name}/versions", .keyListVersions, versions),
            Route(.post, "keys/{name}/backup", .keyBackup, backup),
            Route(.post, "keys/{name}/rotate", .keyRotate, rotate),
            Route(.get, "keys/{name}/rotationpolicy", .keyRotationPolicyGet, rotationPolicy),
            Route(.put, "keys/{name}/rotationpolicy", .keyRotationPolicySet, setRotationPolicy),
            Route(.get, "keys/{name}/{version?}", .keyGet, get),
            Route(.get, "keys/{name}", .keyGet, get),
            Route(.patch, "keys/{name}/{version?}", .keyUpdate, update),
            Route(.patch, "keys/{name}", .keyUpdate, update),
            Route(.post, "keys/{name}/{version?}/encrypt", .keyEncrypt, encrypt),
            Route(.post, "keys/{name}/{version?}/decrypt", .keyDecrypt, decrypt),
            Route(.post, "keys/{name}/{version?}/wrapkey", .keyWrap) { try await transform($0, keys.wrapKey) },
            Route(.post, "keys/{name}/{version?}/unwrapkey", .keyUnwrap) { try await transform($0, keys.unwrapKey) },
            Route(.post, "keys/{name}/{version?}/sign", .keySign) { try await transform($0, keys.sign) },
            Route(.post, "keys/{name}/{version?}/verify", .keyVerify, verify),
            Route(.post, "keys/{name}/{version?}/release", .keyRelease, release),
            Route(.get, "deletedkeys", .keyListDeleted, listDeleted),
            Route(.get, "deletedkeys/{name}", .keyGetDeleted, getDeleted),
            Route(.delete, "deletedkeys/{name}", .keyPurge, purge),
            Route(.post, "deletedkeys/{name}/recover", .keyRecover, recover),
            Route(.post, "rng", .randomBytes, randomBytes),
        ]
    }

    /// The routes on a pool: the Keys API under HSM rules (see ``ManagedHSMKeyRules``), and key attestation.
    func managedHSMRoutes(attestation: ManagedHSMKeyAttestation) -> [DataPlaneRoute] {
        [Route(.get, "keys/{name}/{version?}/attestation", .keyAttestation) { try await attest($0, attestation) }] + routes
    }

    // MARK: - Management

    func create(_ request: DataPlaneRequest) async throws -> Response {
        let parameters = try request.decode(KeyCreateParameters.self)
        guard let kty = parameters.kty else { throw CoffreError.badParameter("The request body is missing 'kty': the key type.") }
        guard let type = KeyType(rawValue: kty) else {
            throw CoffreError.badParameter("'\(kty)' is not a key type: use RSA, RSA-HSM, EC, EC-HSM, oct or oct-HSM.")
        }
        let curve = try parameters.crv.map { crv in
            guard let curve = CurveName(rawValue: crv) else {
                throw CoffreError.badParameter("'\(crv)' is not a curve: use P-256, P-256K, P-384 or P-521.")
            }
            return curve
        }
        let spec = KeyService.Spec(
            type: request.managedHSM == nil ? type : ManagedHSMKeyRules.hsmType(type), size: parameters.key_size, curve: curve,
            publicExponent: parameters.public_exponent)
        let key = try await keys.create(
            in: request.vault.name, name: request.parameter("name"), spec: spec,
            properties: properties(parameters.key_ops, parameters.attributes, parameters.tags, parameters.release_policy))
        return try bundle(key, request)
    }

    func importKey(_ request: DataPlaneRequest) async throws -> Response {
        let parameters = try request.decode(KeyImportParameters.self)
        guard let jwk = parameters.key else { throw CoffreError.badParameter("The request body is missing 'key': the JSON Web Key to import.") }
        let key = try await keys.importKey(
            in: request.vault.name, name: request.parameter("name"), jwk: jwk, hsm: request.managedHSM != nil || parameters.Hsm == true,
            properties: properties(nil, parameters.attributes, parameters.tags, parameters.release_policy))
        return try bundle(key, request)
    }

    private func properties(
        _ keyOps: [String]?, _ attributes: WireAttributes?, _ tags: [String: String]?, _ releasePolicy: WireReleasePolicy?
    ) -> KeyService.Properties {
        KeyService.Properties(
            keyOps: keyOps, attributes: attributes?.changes ?? .init(), exportable: attributes?.exportable,
            tags: tags.map { .some($0) }, releasePolicy: releasePolicy.map { .some($0.model) })
    }

    func get(_ request: DataPlaneRequest) async throws -> Response {
        try bundle(try await keys.get(in: request.vault.name, name: request.parameter("name"), version: request.parameters["version"]), request)
    }

    func update(_ request: DataPlaneRequest) async throws -> Response {
        let parameters = try request.decode(KeyUpdateParameters.self)
        let key = try await keys.update(
            in: request.vault.name, name: request.parameter("name"), version: request.parameters["version"],
            properties: properties(parameters.key_ops, parameters.attributes, parameters.tags, parameters.release_policy))
        return try bundle(key, request)
    }

    func list(_ request: DataPlaneRequest) async throws -> Response {
        let (limit, cursor) = try request.paging()
        let page = try await keys.list(in: request.vault.name, after: cursor, limit: limit)
        return try request.page(
            page.items.map { KeyItem(head: $0, vault: request.vault, url: request.url) }, next: page.next, path: "keys", limit: limit)
    }

    func versions(_ request: DataPlaneRequest) async throws -> Response {
        let (limit, cursor) = try request.paging()
        let name = request.parameter("name")
        let page = try await keys.versions(in: request.vault.name, name: name, after: cursor, limit: limit)
        return try request.page(
            page.items.map { KeyItem(version: $0, vault: request.vault, url: request.url) }, next: page.next, path: "keys/\(name)/versions",
            limit: limit)
    }

    func delete(_ request: DataPlaneRequest) async throws -> Response {
        try bundle(try await keys.delete(in: request.vault, name: request.parameter("name")), request)
    }

    func getDeleted(_ request: DataPlaneRequest) async throws -> Response {
        try bundle(try await keys.deleted(in: request.vault.name, name: request.parameter("name")), request)
    }

    func listDeleted(_ request: DataPlaneRequest) async throws -> Response {
        let (limit, cursor) = try request.paging()
        let page = try await keys.listDeleted(in: request.vault.name, after: cursor, limit: limit)
        return try request.page(
            page.items.map { KeyItem(head: $0, vault: request.vault, url: request.url) }, next: page.next, path: "deletedkeys", limit: limit)
    }

    func recover(_ request: DataPlaneRequest) async throws -> Response {
        try bundle(try await keys.recover(in: request.vault.name, name: request.parameter("name")), request)
    }

    func purge(_ request: DataPlaneRequest) async throws -> Response {
        try await keys.purge(in: request.vault, name: request.parameter("name"))
        return Response(status: .noContent)
    }

    func backup(_ request: DataPlaneRequest) async throws -> Response {
        try JSON.response(BackupResult(value: try await keys.backup(in: request.vault.name, name: request.parameter("name"))))
    }

    func restore(_ request: DataPlaneRequest) async throws -> Response {
        try bundle(try await keys.restore(in: request.vault.name, blob: try request.decode(RestoreParameters.self).value), request)
    }

    func rotate(_ request: DataPlaneRequest) async throws -> Response {
        try bundle(try await keys.rotate(in: request.vault.name, name: request.parameter("name")), request)
    }

    func rotationPolicy(_ request: DataPlaneRequest) async throws -> Response {
        let name = request.parameter("name")
        let policy = try await keys.rotationPolicy(in: request.vault.name, name: name)
        return try JSON.response(WireRotationPolicy(policy, id: request.url.object(.key, name) + "/rotationpolicy"))
    }

    func setRotationPolicy(_ request: DataPlaneRequest) async throws -> Response {
        let name = request.parameter("name")
        let requested = try request.decode(WireRotationPolicy.self).model
        if request.managedHSM != nil { try ManagedHSMKeyRules.checkRotationPolicy(requested) }
        let policy = try await keys.setRotationPolicy(in: request.vault.name, name: name, policy: requested)
        return try JSON.response(WireRotationPolicy(policy, id: request.url.object(.key, name) + "/rotationpolicy"))
    }

    func randomBytes(_ request: DataPlaneRequest) async throws -> Response {
        guard let count = try request.decode(RandomBytesRequest.self).count else {
            throw CoffreError.badParameter("The request body is missing 'count'.")
        }
        return try JSON.response(["value": Base64.urlEncoded(try keys.randomBytes(count))])
    }

    // MARK: - Cryptography

    /// encrypt and decrypt: `alg`, `value`, and the `iv`, `aad` and `tag` of the AES modes.
    private func cipherInput(_ request: DataPlaneRequest) throws -> (KeyOperationParameters, KeyService.CipherInput) {
        let parameters = try request.decode(KeyOperationParameters.self)
        let (alg, value) = try required(parameters.alg, parameters.value)
        return (
            parameters,
            KeyService.CipherInput(
                algorithm: alg, value: value, iv: try binary(parameters.iv, "iv"), additionalData: try binary(parameters.aad, "aad"),
                authenticationTag: try binary(parameters.tag, "tag"))
        )
    }

    func encrypt(_ request: DataPlaneRequest) async throws -> Response {
        let (parameters, input) = try cipherInput(request)
        let output = try await keys.encrypt(
            in: request.vault.name, name: request.parameter("name"), version: request.parameters["version"],
            request.managedHSM == nil ? input : ManagedHSMKeyRules.encryption(input))
        return try result(output, request, aad: parameters.aad)
    }

    func decrypt(_ request: DataPlaneRequest) async throws -> Response {
        let (_, input) = try cipherInput(request)
        return try result(
            try await keys.decrypt(in: request.vault.name, name: request.parameter("name"), version: request.parameters["version"], input), request)
    }

    /// wrapkey, unwrapkey and sign: `alg` and `value` in, `{kid, value}` out.
    private func transform(
        _ request: DataPlaneRequest,
        _ operation: (VaultName, String, String?, String, [UInt8]) async throws -> KeyService.CryptoOutput
    ) async throws -> Response {
        let parameters = try request.decode(KeySignParameters.self)
        let (alg, value) = try required(parameters.alg, parameters.value)
        return try result(try await operation(request.vault.name, request.parameter("name"), request.parameters["version"], alg, value), request)
    }

    func verify(_ request: DataPlaneRequest) async throws -> Response {
        let parameters = try request.decode(KeyVerifyParameters.self)
        guard let alg = parameters.alg else { throw CoffreError.badParameter("The request body is missing 'alg'.") }
        guard let digest = try binary(parameters.digest, "digest"), let signature = try binary(parameters.value, "value") else {
            throw CoffreError.badParameter("The request body needs 'digest' and 'value' (the signature).")
        }
        let valid = try await keys.verify(
            in: request.vault.name, name: request.parameter("name"), version: request.parameters["version"], algorithm: alg, digest: digest,
            signature: signature)
        return try JSON.response(KeyVerifyResult(value: valid))
    }

    /// `{kid, value}`, with the `iv` and `tag` an AES mode produced and the `aad` the request gave.
    private func result(_ output: KeyService.CryptoOutput, _ request: DataPlaneRequest, aad: String? = nil) throws -> Response {
        try JSON.response(
            KeyOperationResult(
                kid: kid(output.key, request), value: Base64.urlEncoded(output.value), iv: output.iv.map { Base64.urlEncoded($0) },
                tag: output.authenticationTag.map { Base64.urlEncoded($0) }, aad: aad))
    }

    // MARK: - Release

    struct ReleaseParameters: Decodable {
        var target: String?
        var nonce: String?
        var enc: String?
    }

    /// `POST /keys/{name}/{version}/release`: the answer is a JWS signed by Coffre's token-signing key (published in its
    /// JWKS), see ``WireKeyReleaseSigner``.
    func release(_ request: DataPlaneRequest) async throws -> Response {
        let parameters = try request.decode(ReleaseParameters.self)
        guard let target = parameters.target, !target.isEmpty else {
            throw CoffreError.badParameter("The request body is missing 'target': the attestation token.")
        }
        let statement = try await keys.release(
            in: request.vault, name: request.parameter("name"), version: request.parameters["version"], attestation: target,
            encryption: parameters.enc, nonce: parameters.nonce, vaultURL: request.url.base, apiVersion: request.apiVersion)
        return try JSON.response(["value": statement])
    }

    // MARK: - Attestation

    /// The key bundle with `attributes.attestation`: Coffre's statements about the version (see ``KeyAttestation``).
    func attest(_ request: DataPlaneRequest, _ attestation: ManagedHSMKeyAttestation) async throws -> Response {
        guard let pool = request.managedHSM else { throw CoffreError.badParameter("Key attestation is served on Managed HSM pools.") }
        let (key, statements) = try await attestation.attest(
            keys, name: request.parameter("name"), version: request.parameters["version"], in: pool.name, url: request.url.base)
        var bundle = KeyBundle(key, vault: request.vault, url: request.url)
        bundle.attributes.attestation = WireKeyAttestation(statements)
        return try JSON.response(bundle)
    }

    // MARK: - Helpers

    private func required(_ alg: String?, _ value: String?) throws -> (String, [UInt8]) {
        guard let alg else { throw CoffreError.badParameter("The request body is missing 'alg': the algorithm.") }
        guard let bytes = try binary(value, "value") else { throw CoffreError.badParameter("The request body is missing 'value'.") }
        return (alg, bytes)
    }

    private func binary(_ text: String?, _ field: String) throws -> [UInt8]? {
        guard let text else { return nil }
        guard let bytes = Base64.decode(text) else { throw CoffreError.badParameter("'\(field)' is not base64url.") }
        return bytes
    }

    func kid(_ key: Versioned<KeyVersion>, _ request: DataPlaneRequest) -> String {
        request.url.object(.key, key.name, version: key.record.version)
    }

    private func bundle(_ key: Versioned<KeyVersion>, _ request: DataPlaneRequest) throws -> Response {
        try JSON.response(KeyBundle(key, vault: request.vault, url: request.url))
    }
}
