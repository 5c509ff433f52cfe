import CoffreCore
import CoffreModel
import Foundation

/// Where a request is addressed, from its `Host` header: a vault under a vault zone, a Managed HSM under an HSM zone,
/// a storage account under a Blob zone, or the bare server host (which reaches the default vault).
public struct Addressing: Sendable {
    /// DNS zones under which vaults live (`vault.localhost`), lower-case.
    public var vaultZones: [String]
    /// DNS zones under which Managed HSM pools live (`managedhsm.localhost`), lower-case.
    public var hsmZones: [String]
    /// DNS zones under which the Blob service's storage accounts live (`blob.localhost`), lower-case.
    public var blobZones: [String]
    /// The port clients use (it appears in resources); omitted from URLs when 443.
    public var publicPort: Int
    /// The vault reached through the bare host.
    public var defaultVault: VaultName
    /// The token service's base URL (`https://localhost:8443`), used in challenges and discovery.
    public var authority: String

    public init(
        vaultZones: [String], hsmZones: [String], blobZones: [String] = [], publicPort: Int, defaultVault: VaultName, authority: String
    ) {
        self.vaultZones = vaultZones.map { $0.lowercased() }
        self.hsmZones = hsmZones.map { $0.lowercased() }
        self.blobZones = blobZones.map { $0.lowercased() }
        self.publicPort = publicPort
        self.defaultVault = defaultVault
        self.authority = authority
    }

    public enum Target: Sendable, Equatable {
        case vault(String, zone: String)
        case hsm(String, zone: String)
        /// A storage account of the Blob service.
        case blob(String, zone: String)
        case server
    }

    /// Resolves a `Host` header value (`myvault.vault.localhost:8443`).
    public func target(forHost host: String) -> Target {
        let name = Self.hostname(host).lowercased()
        for zone in vaultZones { if let label = Self.label(of: name, under: zone) { return .vault(label, zone: zone) } }
        for zone in hsmZones { if let label = Self.label(of: name, under: zone) { return .hsm(label, zone: zone) } }
        for zone in blobZones { if let label = Self.label(of: name, under: zone) { return .blob(label, zone: zone) } }
        return .server
    }

    /// The one DNS label in front of `.zone` when `name` is such a label and the zone (on bytes: this runs per request).
    static func label(of name: String, under zone: String) -> String? {
        let name = name.utf8
        let zone = zone.utf8
        guard name.count > zone.count + 1, name.suffix(zone.count).elementsEqual(zone) else { return nil }
        let label = name.dropLast(zone.count + 1)
        guard name[label.endIndex] == UInt8(ascii: "."), !label.contains(UInt8(ascii: ".")) else { return nil }
        return String(Substring(label))
    }

    /// The token audience (challenge resource) for a target: `https://{zone}[:{port}]`.
    public func resource(for target: Target) -> String {
        switch target {
        case .vault(_, let zone), .hsm(_, let zone), .blob(_, let zone): resource(forZone: zone)
        case .server: resource(forZone: vaultZones[0])
        }
    }

    public func resource(forZone zone: String) -> String {
        publicPort == 443 ? "https://\(zone)" : "https://\(zone):\(publicPort)"
    }

    /// The `WWW-Authenticate` challenge of a 401: the token service (without a tenant path, so every credential keeps
    /// its own tenant) and the resource the SDK verifies against the vault's host.
    public func challenge(for target: Target) -> String {
        "Bearer authorization=\"\(authority)\", resource=\"\(resource(for: target))\""
    }

    /// The resources of the vault and Managed HSM zones (the audiences of the server's own management API).
    public var resources: Set<String> { Set((vaultZones + hsmZones).map(resource(forZone:))) }

    /// The token audience of the ARM subset (`https://management.localhost:8443`): the cloud metadata's
    /// `authentication.audiences[0]`; the CLI asks for `{audience}/` + `/.default`. Requests go to the authority host.
    public var managementResource: String { authority.replacingOccurrences(of: "https://", with: "https://management.") }

    /// The token audience of the Graph subset, which is served on the authority host under `/v1.0`: the cloud metadata's
    /// `microsoftGraphResourceId` is both the base URL the CLI calls and the resource it asks tokens for.
    public var graphResource: String { authority }

    /// Azure Storage's audience, which storage clients ask tokens for whatever the account's host.
    public static let storageResource = "https://storage.azure.com"

    /// Every audience the token service issues tokens for: vaults, Managed HSM pools, ARM, Graph and storage.
    public var tokenAudiences: Set<String> { resources.union([managementResource, graphResource, Self.storageResource]) }

    /// The URL of a vault as clients should write it.
    public func vaultURL(_ vault: VaultName) -> String {
        let host = "\(vault).\(vaultZones[0])"
        return publicPort == 443 ? "https://\(host)" : "https://\(host):\(publicPort)"
    }

    /// The Blob service endpoint of a storage account as clients should write it (`https://{account}.{zone}:{port}/`).
    public func blobURL(_ account: String) -> String {
        let host = "\(account).\(blobZones.first ?? "blob.localhost")"
        return (publicPort == 443 ? "https://\(host)" : "https://\(host):\(publicPort)") + "/"
    }

    /// The URL of a Managed HSM pool as clients should write it.
    public func managedHSMURL(_ pool: ManagedHSMName) -> String {
        let host = "\(pool).\(hsmZones.first ?? "managedhsm.localhost")"
        return publicPort == 443 ? "https://\(host)" : "https://\(host):\(publicPort)"
    }

    /// The test attestation service's URL (`AZURE_KEYVAULT_ATTESTATION_URL`), on the authority's host.
    public var testAttestationURL: String { authority + "/" + TestAttestationRoutes.prefix }

    /// `host` without its port; IPv6 literals keep their brackets.
    static func hostname(_ host: String) -> Substring {
        let utf8 = host.utf8
        if utf8.first == UInt8(ascii: "[") {
            return Substring(utf8[...(utf8.firstIndex(of: UInt8(ascii: "]")) ?? utf8.index(before: utf8.endIndex))])
        }
        return Substring(utf8.prefix { $0 != UInt8(ascii: ":") })
    }
}
