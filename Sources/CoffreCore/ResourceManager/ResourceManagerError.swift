/// The errors of Azure Resource Manager operations, in ARM's vocabulary (its error codes); the HTTP adapter's error
/// table gives each its status.
public enum ResourceManagerError: Error, Equatable, Sendable {
    /// 401 `AuthenticationFailed`: no bearer token.
    case authenticationFailed(String)
    /// 401 `InvalidAuthenticationToken`: a token that is not valid for Azure Resource Manager.
    case invalidAuthenticationToken(String)
    /// 403 `AuthorizationFailed`.
    case authorizationFailed(objectId: String, action: String, scope: String)
    /// 400 `MissingApiVersionParameter`.
    case missingApiVersion
    /// 400 `InvalidApiVersionParameter`.
    case invalidApiVersion(String)
    /// 404 `SubscriptionNotFound`.
    case subscriptionNotFound(String)
    /// 404 `ResourceGroupNotFound`.
    case resourceGroupNotFound(String)
    /// 404 `ResourceNotFound`.
    case resourceNotFound(type: String, name: String, resourceGroup: String)
    /// 404 `DeletedVaultNotFound`.
    case deletedVaultNotFound(String)
    /// 400 `SoftDeletedVaultDoesNotExist`: recovery of a vault that is not deleted.
    case softDeletedVaultDoesNotExist(String)
    /// 409 `VaultAlreadyExists`: the name belongs to a vault in another resource group.
    case vaultAlreadyExists(String)
    /// 409 `StorageAccountAlreadyTaken`: the name belongs to a storage account in another resource group.
    case storageAccountAlreadyTaken(String)
    /// 409 `ConflictError`: the name belongs to a soft-deleted vault.
    case deletedVaultExists(String)
    /// 409 `Conflict`: a deleted vault with purge protection cannot be purged before its date.
    case purgeProtected(String)
    /// 409 `InvalidResourceGroupLocation`.
    case resourceGroupLocation(name: String, location: String)
    /// 409 `ScopeLocked`: the default resource group cannot be deleted.
    case scopeLocked(String)
    /// 409 `RoleAssignmentExists`.
    case roleAssignmentExists(String)
    /// 404 `RoleAssignmentNotFound`.
    case roleAssignmentNotFound(String)
    /// 404 `RoleDefinitionDoesNotExist`.
    case roleDefinitionNotFound(String)
    /// 400 `InvalidResourceId`/`LinkedInvalidPropertyId`: a scope Coffre does not serve.
    case invalidScope(String)
    /// 400 with the given ARM code (`InvalidRequestContent`, `InvalidFilterInQueryString`, `InvalidParameter`, …).
    case badRequest(code: String, message: String)

    public var code: String {
        switch self {
        case .authenticationFailed: "AuthenticationFailed"
        case .invalidAuthenticationToken: "InvalidAuthenticationToken"
        case .authorizationFailed: "AuthorizationFailed"
        case .missingApiVersion: "MissingApiVersionParameter"
        case .invalidApiVersion: "InvalidApiVersionParameter"
        case .subscriptionNotFound: "SubscriptionNotFound"
        case .resourceGroupNotFound: "ResourceGroupNotFound"
        case .resourceNotFound: "ResourceNotFound"
        case .deletedVaultNotFound: "DeletedVaultNotFound"
        case .softDeletedVaultDoesNotExist: "SoftDeletedVaultDoesNotExist"
        case .vaultAlreadyExists: "VaultAlreadyExists"
        case .storageAccountAlreadyTaken: "StorageAccountAlreadyTaken"
        case .deletedVaultExists: "ConflictError"
        case .purgeProtected: "Conflict"
        case .resourceGroupLocation: "InvalidResourceGroupLocation"
        case .scopeLocked: "ScopeLocked"
        case .roleAssignmentExists: "RoleAssignmentExists"
        case .roleAssignmentNotFound: "RoleAssignmentNotFound"
        case .roleDefinitionNotFound: "RoleDefinitionDoesNotExist"
        case .invalidScope: "InvalidResourceId"
        case .badRequest(let code, _): code
        }
    }
}

extension ResourceManagerError: CustomStringConvertible {
    public var description: String {
        switch self {
        case .authenticationFailed(let detail), .invalidAuthenticationToken(let detail): detail
        case .authorizationFailed(let objectId, let action, let scope):
            "The client '\(objectId)' with object id '\(objectId)' does not have authorization to perform action '\(action)' over scope "
                + "'\(scope)' or the scope is invalid. If access was recently granted, please refresh your credentials."
        case .missingApiVersion: "The api-version query parameter (?api-version=) is required for all requests."
        case .invalidApiVersion(let version):
            "The api-version '\(version)' is invalid. The supported versions are dates written YYYY-MM-DD, optionally followed by -preview."
        case .subscriptionNotFound(let id): "The subscription '\(id)' could not be found."
        case .resourceGroupNotFound(let name): "Resource group '\(name)' could not be found."
        case .resourceNotFound(let type, let name, let group):
            "The Resource '\(type)/\(name)' under resource group '\(group)' was not found. For more details please go to "
                + "https://aka.ms/ARMResourceNotFoundFix"
        case .deletedVaultNotFound(let name): "The deleted vault '\(name)' was not found."
        case .softDeletedVaultDoesNotExist(let name):
            "A soft deleted vault with the given name '\(name)' does not exist. Ensure that the name for the vault that is being "
                + "attempted to recover is in a recoverable state."
        case .vaultAlreadyExists(let name):
            "The vault name '\(name)' is already in use. Vault names are globally unique so it is possible that the name is already taken."
        case .storageAccountAlreadyTaken(let name): "The storage account named \(name) is already taken."
        case .deletedVaultExists:
            "A vault with the same name already exists in deleted state. You need to either recover or purge existing key vault."
        case .purgeProtected(let name):
            "The vault '\(name)' has purge protection enabled: it is purged automatically when its retention period ends."
        case .resourceGroupLocation(let name, let location):
            "Invalid resource group location '\(location)'. The Resource group already exists in location of resource group '\(name)'."
        case .scopeLocked(let name):
            "The scope '\(name)' cannot perform delete operation because it holds the vaults made by Coffre's own commands."
        case .roleAssignmentExists: "The role assignment already exists."
        case .roleAssignmentNotFound(let id): "The role assignment '\(id)' is not found."
        case .roleDefinitionNotFound(let id): "The specified role definition with ID '\(id)' does not exist."
        case .invalidScope(let scope):
            "The scope '\(scope)' is not one Coffre serves: its subscription, a resource group, a vault or an object in a vault."
        case .badRequest(_, let message): message
        }
    }
}
