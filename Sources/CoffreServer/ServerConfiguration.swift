import CoffreModel
import Foundation

/// How a Coffre server is set up. The non-secret part is kept in `coffre.json` in the data directory, so that
/// `coffre env` and the other commands find the running server.
public struct ServerConfiguration: Codable, Sendable, Equatable {
    /// The address to listen on; loopback unless an operator opens it up.
    public var bind: String = "127.0.0.1"
    public var port: Int = 8443
    /// The port clients use, when a proxy or port mapping sits in front (defaults to `port`).
    public var publicPort: Int?
    /// Vaults live at `https://{vault}.{zone}:{port}`; the first zone is the one printed.
    public var vaultZones: [String] = ["vault.localhost"]
    public var hsmZones: [String] = ["managedhsm.localhost"]
    /// The host of the token service in URLs clients use (`https://{authorityHost}:{port}`).
    public var authorityHost: String = "localhost"
    /// The vault created on first start and reached through the bare host.
    public var defaultVault: String = "default"
    /// The tenant of this server, set on first start.
    public var tenantId: String?

    public init() {}

    public var effectivePublicPort: Int { publicPort ?? port }

    public var authority: String {
        effectivePublicPort == 443 ? "https://\(authorityHost)" : "https://\(authorityHost):\(effectivePublicPort)"
    }

    public func vaultURL(_ name: String) -> String {
        let host = "\(name).\(vaultZones.first ?? "vault.localhost")"
        return effectivePublicPort == 443 ? "https://\(host)" : "https://\(host):\(effectivePublicPort)"
    }

    /// Validates zones, ports and names before anything is started.
    public func validated() throws -> ServerConfiguration {
        guard (1...65535).contains(port), (1...65535).contains(effectivePublicPort) else {
            throw CoffreError.badParameter("The port must be between 1 and 65535.")
        }
        guard !vaultZones.isEmpty else { throw CoffreError.badParameter("At least one vault zone is needed.") }
        for zone in vaultZones + hsmZones where zone.isEmpty || zone.hasPrefix(".") || zone.contains("/") || zone.contains(":") {
            throw CoffreError.badParameter("'\(zone)' is not a DNS zone (write it like vault.example.com).")
        }
        _ = try VaultName(defaultVault)
        var copy = self
        copy.vaultZones = vaultZones.map { $0.lowercased() }
        copy.hsmZones = hsmZones.map { $0.lowercased() }
        return copy
    }
}
