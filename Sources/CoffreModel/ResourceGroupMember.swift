/// A resource Azure Resource Manager shows in a resource group (a vault, a storage account, a Managed HSM pool).
public protocol ResourceGroupMember {
    /// The name of its resource group.
    var group: String { get }
}

extension ResourceGroupMember {
    /// Whether it is in the resource group of that name; ARM compares group names without case.
    public func isIn(resourceGroup name: String) -> Bool { group.lowercased() == name.lowercased() }
}
