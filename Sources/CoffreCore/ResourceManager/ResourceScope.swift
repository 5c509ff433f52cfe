import CoffreCrypto
import CoffreModel

/// A scope of Azure's resource hierarchy as Coffre serves it: its one subscription, a resource group, a vault or one
/// object in a vault. Roles are assigned at scopes and actions authorised over them.
public enum ResourceScope: Equatable, Sendable {
    case subscription
    case resourceGroup(String)
    /// A vault or one of its objects; the resource group is the one the path named (nil in Coffre's short form
    /// `/vaults/{vault}`, where the vault's own group is meant).
    case vault(resourceGroup: String?, RoleScope)

    /// Reads an Azure resource id (`/subscriptions/{s}`, `…/resourceGroups/{g}`,
    /// `…/providers/Microsoft.KeyVault/vaults/{v}[/{secrets|keys|certificates}/{name}]`) or `/vaults/{v}[/…]`.
    /// Segment names match in any case, as Azure's do.
    public init(parsing text: String, subscriptionId: String) throws {
        let segments = text.split(separator: "/").map(String.init)
        func named(_ index: Int, _ literal: String) -> Bool { index < segments.count && segments[index].lowercased() == literal }
        guard named(0, "subscriptions") else {
            self = .vault(resourceGroup: nil, try RoleScope(parsing: text))
            return
        }
        guard segments.count >= 2 else { throw ResourceManagerError.invalidScope(text) }
        guard segments[1].lowercased() == subscriptionId else { throw ResourceManagerError.subscriptionNotFound(segments[1]) }
        switch segments.count {
        case 2: self = .subscription
        case 4 where named(2, "resourcegroups"): self = .resourceGroup(segments[3])
        case 8, 10:
            guard named(2, "resourcegroups"), named(4, "providers"), named(5, "microsoft.keyvault"), named(6, "vaults") else {
                throw ResourceManagerError.invalidScope(text)
            }
            self = .vault(resourceGroup: segments[3], try RoleScope(parsing: "/" + segments[6...].joined(separator: "/")))
        default: throw ResourceManagerError.invalidScope(text)
        }
    }

    /// The resource group the scope is in, when it names one.
    public var resourceGroup: String? {
        switch self {
        case .subscription: nil
        case .resourceGroup(let group): group
        case .vault(let group, _): group
        }
    }

    /// The Azure resource id (`/subscriptions/{s}/resourceGroups/{g}/providers/Microsoft.KeyVault/vaults/{v}`).
    public func id(subscriptionId: String) -> String {
        let subscription = "/subscriptions/\(subscriptionId)"
        switch self {
        case .subscription: return subscription
        case .resourceGroup(let group): return "\(subscription)/resourceGroups/\(group)"
        case .vault(let group, let scope):
            let object = scope.object.map { "/\($0.kind.collection)/\($0.name)" } ?? ""
            return
                "\(subscription)/resourceGroups/\(group ?? VaultRecord.defaultResourceGroup)/providers/Microsoft.KeyVault/vaults/\(scope.vault)\(object)"
        }
    }
}

/// Coffre's Azure subscription: one per tenant, its id derived from the tenant id, so that it is the same on every
/// node and after a restore.
public enum Subscription {
    public static let displayName = "Coffre"

    /// A UUID (version 8, RFC 9562) from SHA-256 of the tenant id.
    public static func id(forTenant tenantId: String) -> String {
        var bytes = Array(Digest.sha256(Array("coffre-subscription:\(tenantId.lowercased())".utf8)).prefix(16))
        bytes[6] = (bytes[6] & 0x0F) | 0x80
        bytes[8] = (bytes[8] & 0x3F) | 0x80
        let hex = Hex.encode(bytes)
        let groups = [0..<8, 8..<12, 12..<16, 16..<20, 20..<32].map { range in
            String(hex[hex.index(hex.startIndex, offsetBy: range.lowerBound)..<hex.index(hex.startIndex, offsetBy: range.upperBound)])
        }
        return groups.joined(separator: "-")
    }
}
