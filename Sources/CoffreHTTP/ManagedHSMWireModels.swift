import CoffreCore
import CoffreCrypto
import CoffreJSON
import CoffreModel

// Wire shapes of the Managed HSM administration APIs (rbac.json, settings.json, securitydomain.json), as the
// service answers them and azure-keyvault-administration / -securitydomain read them.

/// A permission block: the four lists are always written (the service echoes empty ones).
struct WirePermission: Codable {
    var actions: [String]?
    var notActions: [String]?
    var dataActions: [String]?
    var notDataActions: [String]?

    init(_ permission: ManagedHSMPermission) {
        actions = permission.actions
        notActions = permission.notActions
        dataActions = permission.dataActions
        notDataActions = permission.notDataActions
    }

    var model: ManagedHSMPermission {
        ManagedHSMPermission(
            actions: actions ?? [], notActions: notActions ?? [], dataActions: dataActions ?? [], notDataActions: notDataActions ?? [])
    }
}

/// `RoleDefinition`: `id` has no leading slash, as the service writes it.
struct WireRoleDefinition: Encodable {
    struct Properties: Encodable {
        var roleName: String
        var description: String
        var type: String
        var permissions: [WirePermission]
        var assignableScopes: [String]
    }

    var id: String
    var name: String
    var type = "Microsoft.Authorization/roleDefinitions"
    var properties: Properties

    init(_ definition: ManagedHSMRoleDefinition) {
        id = definition.id
        name = definition.name
        properties = Properties(
            roleName: definition.roleName, description: definition.description, type: definition.type.rawValue,
            permissions: definition.permissions.map(WirePermission.init), assignableScopes: definition.assignableScopes)
    }
}

/// `RoleDefinitionCreateParameters`.
struct RoleDefinitionCreate: Decodable {
    struct Properties: Decodable {
        var roleName: String?
        var description: String?
        var type: String?
        var permissions: [WirePermission]?
        var assignableScopes: [String]?
    }

    var properties: Properties?

    var request: ManagedHSMAccessControl.DefinitionRequest {
        ManagedHSMAccessControl.DefinitionRequest(
            roleName: properties?.roleName, description: properties?.description, type: properties?.type,
            permissions: properties?.permissions?.map(\.model) ?? [], assignableScopes: properties?.assignableScopes)
    }
}

/// `RoleAssignment`.
struct WireRoleAssignment: Encodable {
    struct Properties: Encodable {
        var scope: String
        var roleDefinitionId: String
        var principalId: String?
    }

    var id: String
    var name: String
    var type = "Microsoft.Authorization/roleAssignments"
    var properties: Properties

    init(_ assignment: ManagedHSMRoleAssignment) {
        id = assignment.id
        name = assignment.name
        properties = Properties(
            scope: assignment.scope.description, roleDefinitionId: assignment.roleDefinitionId, principalId: assignment.principalId)
    }
}

/// `RoleAssignmentCreateParameters`.
struct RoleAssignmentCreate: Decodable {
    struct Properties: Decodable {
        var roleDefinitionId: String?
        var principalId: String?
    }

    var properties: Properties?
}

/// `Setting`.
struct WireSetting: Encodable {
    var name: String
    var value: String
    var type: String

    init(_ setting: ManagedHSMSetting) {
        name = setting.name
        value = setting.value
        type = setting.type.rawValue
    }
}

struct SettingsList: Encodable {
    var settings: [WireSetting]
}

struct SettingUpdate: Decodable {
    var value: String?
}

/// `SecurityDomainJsonWebKey` of a download request (only what Coffre reads).
struct SecurityDomainCertificate: Decodable {
    var kty: String?
    var n: String?
    var e: String?
    var x5c: [String]?
    var x5tS256: String?

    enum CodingKeys: String, CodingKey {
        case kty, n, e, x5c
        case x5tS256 = "x5t#S256"
    }

    var model: ManagedHSMSecurityDomain.Certificate {
        var jwk = JsonWebKey(n: n.flatMap { Base64.decode($0) }, e: e.flatMap { Base64.decode($0) })
        jwk.kty = kty
        return ManagedHSMSecurityDomain.Certificate(jwk: jwk, x5c: x5c ?? [], x5tS256: x5tS256)
    }
}

/// `CertificateInfoObject`.
struct SecurityDomainDownloadRequest: Decodable {
    var certificates: [SecurityDomainCertificate]?
    var required: Int?
}

/// `SecurityDomainObject`: the domain (or an upload) as JSON text.
struct SecurityDomainObject: Codable {
    var value: String?
}

/// `SecurityDomainOperationStatus` (snake case, and `Success` rather than `Succeeded`, as the service answers).
struct SecurityDomainStatus: Encodable {
    var status: String
    var status_details: String?

    init(_ status: ManagedHSMActivations.Status) {
        switch status {
        case .inProgress: self.status = "InProgress"
        case .success: self.status = "Success"
        case .failed(let reason):
            self.status = "Failed"
            status_details = reason
        }
    }
}

/// `TransferKey`: the JWK travels as JSON text (the SDK's `str(transfer_key)` is parsed with `json.loads`).
struct TransferKeyResult: Encodable {
    var key_format = "jwk"
    var transfer_key: String
}

/// The transfer key's JWK: RSA, `alg` RSA-OAEP-256, its certificate in `x5c` and `x5t#S256`.
struct TransferKeyJWK: Encodable {
    var kty = "RSA"
    var kid: String
    var key_ops: [String]
    var n: String
    var e: String
    var alg = "RSA-OAEP-256"
    var x5c: [String]
    var x5tS256: String

    enum CodingKeys: String, CodingKey {
        case kty, kid, key_ops, n, e, alg, x5c
        case x5tS256 = "x5t#S256"
    }

    init(_ key: ManagedHSMSecurityDomain.TransferKey) {
        kid = key.jwk.kid ?? ""
        key_ops = key.jwk.keyOps ?? []
        n = Base64.urlEncoded(key.jwk.n ?? [])
        e = Base64.urlEncoded(key.jwk.e ?? [])
        x5c = [Base64.standardEncoded(key.certificateDER)]
        x5tS256 = key.thumbprint
    }
}

/// `KeyAttestation` in a key's attributes: each member base64url.
struct WireKeyAttestation: Codable, JSONFieldsEncodable, Sendable {
    var certificatePemFile: String?
    var privateKeyAttestation: String?
    var publicKeyAttestation: String?
    var version: String?

    init(_ attestation: KeyAttestation) {
        certificatePemFile = Base64.urlEncoded(Array(attestation.certificatePemFile.utf8))
        privateKeyAttestation = Base64.urlEncoded(attestation.privateKeyAttestation)
        publicKeyAttestation = attestation.publicKeyAttestation.map { Base64.urlEncoded($0) }
        version = attestation.version
    }

    func writeFields(_ object: inout JSONObjectWriter) throws {
        try object.field("certificatePemFile", certificatePemFile)
        try object.field("privateKeyAttestation", privateKeyAttestation)
        try object.field("publicKeyAttestation", publicKeyAttestation)
        try object.field("version", version)
    }
}

/// `SASTokenParameter`: the container and how to reach it.
struct SASTokenParameter: Decodable {
    var storageResourceUri: String?
    var token: String?
    var useManagedIdentity: Bool?

    func location() throws -> ManagedHSMBackups.Location {
        guard let storageResourceUri, !storageResourceUri.isEmpty else {
            throw CoffreError.badParameter("The request body is missing 'storageResourceUri': the Blob Storage container URL.")
        }
        return ManagedHSMBackups.Location(containerURL: storageResourceUri, token: token, useManagedIdentity: useManagedIdentity ?? false)
    }
}

/// `RestoreOperationParameters` and `SelectiveKeyRestoreOperationParameters`.
struct RestoreParametersBody: Decodable {
    var sasTokenParameters: SASTokenParameter?
    var folderToRestore: String?
    var folder: String?

    func location() throws -> ManagedHSMBackups.Location {
        guard let sasTokenParameters else { throw CoffreError.badParameter("The request body is missing 'sasTokenParameters'.") }
        return try sasTokenParameters.location()
    }

    func folder(_ field: String) throws -> String {
        guard let folder = field == "folder" ? folder : folderToRestore, !folder.isEmpty else {
            throw CoffreError.badParameter("The request body is missing '\(field)': the backup folder.")
        }
        return folder
    }
}

/// `FullBackupOperation`, `RestoreOperation`, `SelectiveKeyRestoreOperation`: a job as its poller reads it (status
/// `InProgress`, `Succeeded` or `Failed`; times in seconds; the backup's folder URL once it succeeded).
struct WireBackupOperation: Encodable {
    struct Failure: Encodable {
        var code: String
        var message: String
    }

    var status: String
    var statusDetails: String?
    var error: Failure?
    var startTime: Int64
    var endTime: Int64?
    var jobId: String
    var azureStorageBlobContainerUri: String?

    init(_ job: JobView<ManagedHSMBackups.Outcome>) {
        switch job.status {
        case .inProgress: status = "InProgress"
        case .succeeded(let outcome):
            status = "Succeeded"
            statusDetails = outcome.details
            azureStorageBlobContainerUri = outcome.folderURL
        case .failed(let failure):
            status = "Failed"
            statusDetails = failure.message
            error = Failure(code: failure.code, message: failure.message)
        }
        startTime = job.startTime
        endTime = job.endTime
        jobId = job.id.value
    }
}
