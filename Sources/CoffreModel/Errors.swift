/// The errors of Coffre's core, independent of any transport.
///
/// The HTTP adapter maps each case to a status code and a Key Vault error envelope in one table
/// (`CoffreHTTP/ErrorTable.swift`). Messages never contain a secret value, key material or a token.
public enum CoffreError: Error, Equatable, Sendable {
    /// The request is malformed or violates a limit (400 `BadParameter`).
    case badParameter(String)
    /// No live object of that name (404 `SecretNotFound`, `KeyNotFound`, …).
    case notFound(ObjectKind, name: String)
    /// The object exists but not that version (404, same code as `notFound`).
    case versionNotFound(ObjectKind, name: String, version: String)
    /// No soft-deleted object of that name (404, same code as `notFound`).
    case deletedNotFound(ObjectKind, name: String)
    /// The name is held by a soft-deleted object (409 `Conflict` / `ObjectIsDeletedButRecoverable`).
    case deletedButRecoverable(ObjectKind, name: String)
    /// The name is already in use (409 `Conflict`).
    case conflict(String)
    /// The object is disabled and the operation needs it enabled (403 `Forbidden` / `SecretDisabled`, …).
    case disabled(ObjectKind, operation: String)
    /// The operation is refused, for `reason` (403 `Forbidden`; the error table names the reason's inner code).
    case forbidden(ForbiddenReason, message: String)
    /// Purge is refused because the vault has purge protection (403 `Forbidden`).
    case purgeProtected(vault: String)
    /// No pending certificate operation of that name (404 `PendingCertificateNotFound`).
    case pendingCertificateNotFound(String)
    /// No certificate issuer of that name (404 `CertificateIssuerNotFound`).
    case issuerNotFound(String)
    /// The vault has no certificate contacts (404 `ContactsNotFound`).
    case contactsNotFound
    /// A certificate operation is in progress for that name (409, code `Forbidden`, as the service answers).
    case certificateOperationInProgress(String)
    /// The key or secret backs a certificate and is managed through it (403 `Forbidden`).
    case managedByCertificate(ObjectKind, name: String)
    /// No vault of that name (404 `VaultNotFound`).
    case vaultNotFound(String)
    /// No principal with that id (404 `PrincipalNotFound`).
    case principalNotFound(String)
    /// The caller is not authenticated (401 with the challenge).
    case unauthorized(String)
    /// The server holds no root key yet (503 `ServiceUnavailable`).
    case sealed
    /// A dependency (storage) failed in a way worth retrying (503 with `Retry-After`).
    case unavailable(String)
    /// No injected fault with that id (404 `FaultNotFound`; development mode).
    case faultNotFound(String)
}

/// Why an operation is refused (403): the HTTP error table gives each reason Key Vault's inner error code.
public enum ForbiddenReason: Sendable, Equatable {
    /// The vault's access policies do not grant the permission (`ForbiddenByPolicy`); also a non-administrator
    /// calling the management API.
    case accessPolicy
    /// The caller's role assignments do not grant the data action (`ForbiddenByRbac`).
    case roleAssignments
    /// The key's `key_ops` do not include the operation (`KeyOperationForbidden`).
    case keyOperationNotPermitted
    /// The key is past its `exp` (`KeyExpired`) or before its `nbf` (`KeyNotYetValid`).
    case keyExpired
    case keyNotYetValid
    /// A certificate's secret past its expiry (`SecretExpired`).
    case secretExpired
    /// Key release of a key that is not exportable or has no release policy (`KeyNotExportable`).
    case keyNotExportable
    /// The attestation does not satisfy the key's release policy (`KeyReleasePolicyNotSatisfied`).
    case releasePolicyNotSatisfied
    /// A development control (time travel, faults) on a server not started with `--dev` (`DevelopmentModeRequired`).
    case developmentModeRequired
    /// Any other refusal (inner code `Forbidden`).
    case notAllowed
}

extension CoffreError: CustomStringConvertible {
    public var description: String {
        switch self {
        case .badParameter(let message): message
        case .notFound(let kind, let name):
            "A \(kind.noun) with (name/id) \(name) was not found in this key vault. If you recently deleted this \(kind.noun) "
                + "you may be able to recover it using the correct recovery command."
        case .versionNotFound(let kind, let name, let version):
            "A \(kind.noun) with (name/id) \(name)/\(version) was not found in this key vault."
        case .deletedNotFound(let kind, let name): "Deleted \(kind.title) not found: \(name)"
        case .deletedButRecoverable(let kind, let name):
            "\(kind.title) \(name) is currently in a deleted but recoverable state, and its name cannot be reused; "
                + "in this state, the \(kind.noun) can only be recovered or purged."
        case .conflict(let message): message
        case .disabled(let kind, let operation): "Operation \(operation) is not allowed on a disabled \(kind.noun)."
        case .forbidden(_, let message): message
        case .purgeProtected(let vault):
            "Operation \"purge\" is not allowed because purge protection is enabled for this vault. "
                + "Coffre will automatically purge it after the retention period has passed. Vault: \(vault)"
        case .pendingCertificateNotFound(let name): "Pending certificate not found: \(name)"
        case .issuerNotFound(let name): "Issuer not found: \(name)"
        case .contactsNotFound: "Contacts not found"
        case .certificateOperationInProgress:
            "A new key vault certificate can not be created or imported while a pending key vault certificate's status is inProgress."
        case .managedByCertificate(let kind, let name):
            "The \(kind.noun) \(name) backs a certificate and is managed through it: use the certificate operations instead."
        case .vaultNotFound(let name): "Vault not found: \(name)"
        case .principalNotFound(let id): "Principal not found: \(id)"
        case .unauthorized(let message): message
        case .sealed: "Coffre is sealed: unseal it before use."
        case .unavailable(let message): message
        case .faultNotFound(let id): "No fault with id \(id) is in force (coffre faults list shows them)."
        }
    }
}
