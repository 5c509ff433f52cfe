import CoffreModel

/// Failures particular to Managed HSM pools. Invalid input, conflicts and refusals by RBAC are ``CoffreError``s like
/// everywhere else; the HTTP error table maps these cases too.
public enum ManagedHSMError: Error, Equatable, Sendable, CustomStringConvertible {
    /// No pool of that name.
    case poolNotFound(String)
    /// The pool has no security domain yet: key operations wait for its activation.
    case notActivated(String)
    /// The pool already holds a security domain (download and upload activate a pool once).
    case alreadyActivated(String)
    /// No role definition of that name (`RoleDefinitionNotFound`).
    case roleDefinitionNotFound(String)
    /// No role assignment of that name (`RoleAssignmentNotFound`).
    case roleAssignmentNotFound(String)
    /// No setting of that name.
    case settingNotFound(String)
    /// The caller's role assignments do not grant the data action at the scope (403 `AccessDenied`, as the service
    /// answers: "Not authorized to access {action} on {scope}").
    case accessDenied(action: String, scope: String)

    public var description: String {
        switch self {
        case .poolNotFound(let name): "Managed HSM pool not found: \(name)"
        case .notActivated(let name):
            "The Managed HSM pool \(name) is not activated: download its security domain (or upload one) before using keys."
        case .alreadyActivated(let name): "The Managed HSM pool \(name) already holds a security domain."
        case .roleDefinitionNotFound(let name): "Requested role definition not found: \(name)"
        case .roleAssignmentNotFound(let name): "Requested role assignment not found: \(name)"
        case .settingNotFound(let name): "Setting not found: \(name). Known settings: \(ManagedHSMSetting.known.map(\.name).joined(separator: ", "))."
        case .accessDenied(let action, let scope): "Not authorized to access \(action) on \(scope)"
        }
    }
}
