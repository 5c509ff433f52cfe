import CoffreAuth
import CoffreCore
import CoffreCrypto
import CoffreModel
import Hummingbird

/// The Keys API (`/keys`, `/deletedkeys`, `/rng`).
struct KeyRoutes: Sendable {
    let keys: KeyService
    let metrics: MetricsRegistry
    let tokens: TokenService
    let attestation: AttestationVerifier

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
            Route(.post, "keys/{name}/{version?}/encrypt", .keyEncrypt) { try await encrypt($0, .encrypt) },
            Route(.post, "keys/{name}/{version?}/decrypt", .keyDecrypt) { try await decrypt($0, .decrypt) },
            Route(.post, "keys/{name}/{version?}/wrapkey", .keyWrap) { try await encrypt($0, .wrapKey) },
            Route(.post, "keys/{name}/{version?}/unwrapkey", .keyUnwrap) { try await decrypt($0, .unwrapKey) },
            Route(.post, "keys/{name}/{version?}/sign", .keySign, sign),
            Route(.post, "keys/{name}/{version?}/verify", .keyVerify, verify),
            Route(.post, "keys/{name}/{version?}/release", .keyRelease, release),
            Route(.get, "deletedkeys", .keyListDeleted, listDeleted),
            Route(.get, "deletedkeys/{name}", .keyGetDeleted, getDeleted),
            Route(.delete, "deletedkeys/{name}", .keyPurge, purge),
            Route(.post, "deletedkeys/{name}/recover", .keyRecover, recover),
            Route(.post, "rng", .randomBytes, randomBytes),
        ]
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
        if type.family == .rsa, let size = parameters.key_size, ![2048, 3072, 4096].contains(size) {
            throw CoffreError.badParameter("RSA keys can be 2048, 3072 or 4096 bits, not \(size).")
        }
        let spec = KeyService.Spec(type: type, size: parameters.key_size, curve: curve, publicExponent: parameters.public_exponent)
        let key = try await keys.create(
            in: request.vault.name, name: request.parameter("name"), spec: spec,
            properties: properties(parameters.key_ops, parameters.attributes, parameters.tags, parameters.release_policy))
        return try bundle(key, request)
    }

    func importKey(_ request: DataPlaneRequest) async throws -> Response {
        let parameters = try request.decode(KeyImportParameters.self)
        guard let jwk = parameters.key else { throw CoffreError.badParameter("The request body is missing 'key': the JSON Web Key to import.") }
        let key = try await keys.importKey(
            in: request.vault.name, name: request.parameter("name"), jwk: jwk, hsm: parameters.Hsm ?? false,
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
        let policy = try await keys.setRotationPolicy(in: request.vault.name, name: name, policy: try request.decode(WireRotationPolicy.self).model)
        return try JSON.response(WireRotationPolicy(policy, id: request.url.object(.key, name) + "/rotationpolicy"))
    }

    func randomBytes(_ request: DataPlaneRequest) async throws -> Response {
        guard let count = try request.decode(RandomBytesRequest.self).count else {
            throw CoffreError.badParameter("The request body is missing 'count'.")
        }
        return try JSON.response(["value": Base64.urlEncoded(try keys.randomBytes(count))])
    }

    // MARK: - Cryptography

    /// The operands of encrypt, decrypt, wrapKey and unwrapKey, and the usable key.
    struct Operands {
        var parameters: KeyOperationParameters
        var alg: String
        var value: [UInt8]
        var iv: [UInt8]?
        var aad: [UInt8]?
        var tag: [UInt8]?
        var key: Versioned<KeyVersion>
        var material: KeyMaterial
    }

    private func operands(_ request: DataPlaneRequest, _ operation: KeyService.Operation) async throws -> Operands {
        let parameters = try request.decode(KeyOperationParameters.self)
        let (alg, value) = try required(parameters.alg, parameters.value)
        let (key, material) = try await keys.keyFor(
            operation, in: request.vault.name, name: request.parameter("name"), version: request.parameters["version"])
        return Operands(
            parameters: parameters, alg: alg, value: value, iv: try binary(parameters.iv, "iv"), aad: try binary(parameters.aad, "aad"),
            tag: try binary(parameters.tag, "tag"), key: key, material: material)
    }

    func encrypt(_ request: DataPlaneRequest, _ operation: KeyService.Operation) async throws -> Response {
        let input = try await operands(request, operation)
        let result = try KeyService.crypto {
            operation == .wrapKey
                ? EncryptionResult(ciphertext: try input.material.wrapKey(input.alg, key: input.value))
                : try input.material.encrypt(input.alg, plaintext: input.value, iv: input.iv, additionalData: input.aad)
        }
        metrics.crypto(operation: operation.rawValue, algorithm: input.alg)
        return try JSON.response(
            KeyOperationResult(
                kid: kid(input.key, request), value: Base64.urlEncoded(result.ciphertext), iv: result.iv.map { Base64.urlEncoded($0) },
                tag: result.authenticationTag.map { Base64.urlEncoded($0) }, aad: input.parameters.aad))
    }

    func decrypt(_ request: DataPlaneRequest, _ operation: KeyService.Operation) async throws -> Response {
        let input = try await operands(request, operation)
        let plaintext = try await keys.perform(with: input.material) {
            operation == .unwrapKey
                ? try input.material.unwrapKey(input.alg, wrappedKey: input.value)
                : try input.material.decrypt(
                    input.alg, ciphertext: input.value, iv: input.iv, additionalData: input.aad, authenticationTag: input.tag)
        }
        metrics.crypto(operation: operation.rawValue, algorithm: input.alg)
        return try JSON.response(KeyOperationResult(kid: kid(input.key, request), value: Base64.urlEncoded(plaintext)))
    }

    func sign(_ request: DataPlaneRequest) async throws -> Response {
        let parameters = try request.decode(KeySignParameters.self)
        let (alg, digest) = try required(parameters.alg, parameters.value)
        let (key, material) = try await keys.keyFor(
            .sign, in: request.vault.name, name: request.parameter("name"), version: request.parameters["version"])
        let signature = try await keys.perform(with: material) { try material.sign(alg, digest: digest) }
        metrics.crypto(operation: "sign", algorithm: alg)
        return try JSON.response(KeyOperationResult(kid: kid(key, request), value: Base64.urlEncoded(signature)))
    }

    func verify(_ request: DataPlaneRequest) async throws -> Response {
        let parameters = try request.decode(KeyVerifyParameters.self)
        guard let alg = parameters.alg else { throw CoffreError.badParameter("The request body is missing 'alg'.") }
        guard let digest = try binary(parameters.digest, "digest"), let signature = try binary(parameters.value, "value") else {
            throw CoffreError.badParameter("The request body needs 'digest' and 'value' (the signature).")
        }
        let (_, material) = try await keys.keyFor(
            .verify, in: request.vault.name, name: request.parameter("name"), version: request.parameters["version"])
        let valid = try KeyService.crypto { try material.verify(alg, digest: digest, signature: signature) }
        metrics.crypto(operation: "verify", algorithm: alg)
        return try JSON.response(KeyVerifyResult(value: valid))
    }

    // MARK: - Release

    struct ReleaseParameters: Decodable {
        var target: String?
        var nonce: String?
        var enc: String?
    }

    /// The signed release result: the request, and the key with its private part wrapped to the attested runtime.
    struct ReleaseStatement: Encodable {
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

    /// `POST /keys/{name}/{version}/release`: verifies the attestation token against the release policy's authorities,
    /// evaluates the policy, and answers a JWS signed by Coffre's token-signing key (published in its JWKS).
    func release(_ request: DataPlaneRequest) async throws -> Response {
        let parameters = try request.decode(ReleaseParameters.self)
        guard let target = parameters.target, !target.isEmpty else {
            throw CoffreError.badParameter("The request body is missing 'target': the attestation token.")
        }
        let name = request.parameter("name")
        let key = try await keys.get(in: request.vault.name, name: name, version: request.parameters["version"])
        guard key.record.exportable == true, let data = key.record.releasePolicy?.data.flatMap({ Base64.decode($0) }) else {
            throw CoffreError.forbidden(innerCode: "KeyNotExportable", message: "Only exportable keys with a release policy can be released.")
        }
        let (issuer, claims) = try await attestation.verify(target, authorities: try ReleasePolicyDocument(data: data).authorities)
        let released = try await keys.release(
            in: request.vault.name, name: name, version: key.record.version, issuer: issuer, claims: claims, encryption: parameters.enc)
        var jwk = released.jwk
        jwk.kid = kid(released.key, request)
        let statement = ReleaseStatement(
            request: .init(api_version: request.apiVersion, enc: released.encryption, kid: jwk.kid ?? "", nonce: parameters.nonce),
            response: .init(
                key: .init(
                    key: jwk, attributes: WireAttributes(released.key.record.attributes, vault: request.vault), tags: released.key.record.tags,
                    release_policy: released.key.record.releasePolicy.map(WireReleasePolicy.init))),
            iat: keys.clock.now)
        let (signingKid, signingKey) = tokens.keyring.signer
        return try JSON.response(["value": try JWT.sign(statement, key: signingKey, kid: signingKid)])
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

    private func kid(_ key: Versioned<KeyVersion>, _ request: DataPlaneRequest) -> String {
        request.url.object(.key, key.name, version: key.record.version)
    }

    private func bundle(_ key: Versioned<KeyVersion>, _ request: DataPlaneRequest) throws -> Response {
        try JSON.response(KeyBundle(key, vault: request.vault, url: request.url))
    }
}
