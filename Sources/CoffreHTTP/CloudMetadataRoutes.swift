import CoffreModel
import Foundation
import HTTPTypes

/// `GET /metadata/endpoints` on the authority host: the cloud description the Azure CLI reads at
/// `az cloud register -n coffre --endpoint-resource-manager https://localhost:8443`, in the shape of ARM's own.
///
/// The login endpoint is the token service's `/adfs` authority: MSAL then needs neither instance discovery (which
/// would ask login.microsoftonline.com) nor the user-realm lookup it makes on port 443 for a password sign-in, so every
/// sign-in kind works on any port. Tenant paths (`organizations`, `common`, the tenant id) work as well for clients
/// configured by hand.
struct CloudMetadataRoutes: Sendable {
    let addressing: Addressing
    let tenantId: String

    var group: RouteGroup<OperationName, Void> {
        RouteGroup(
            hosts: [.server], policy: .open(),
            routes: [Route(.get, "metadata/endpoints", "CloudMetadata") { _ in try JSON.response(metadata) }],
            admit: { _, _ in })
    }

    struct Metadata: Encodable {
        struct Authentication: Encodable {
            var loginEndpoint: String
            var audiences: [String]
            var tenant: String
            var identityProvider = "AAD"
        }
        struct Suffixes: Encodable {
            var keyVaultDns: String
            var mhsmDns: String
            var storage: String
        }
        var name = "Coffre"
        var portal: String
        var authentication: Authentication
        var resourceManager: String
        var microsoftGraphResourceId: String
        var suffixes: Suffixes
    }

    var metadata: Metadata {
        Metadata(
            portal: addressing.authority,
            authentication: .init(loginEndpoint: addressing.authority + "/adfs", audiences: [addressing.managementResource + "/"], tenant: tenantId),
            resourceManager: addressing.authority + "/", microsoftGraphResourceId: addressing.graphResource + "/",
            suffixes: .init(
                keyVaultDns: addressing.suffix(addressing.vaultZones[0]),
                mhsmDns: addressing.suffix(addressing.hsmZones.first ?? "managedhsm.localhost"),
                storage: addressing.suffix("core." + Addressing.hostname(addressing.authority.replacingOccurrences(of: "https://", with: "")))))
    }
}

extension Addressing {
    /// A DNS suffix as the CLI appends it to a name (`vault.localhost:8443`; no port on 443).
    func suffix(_ zone: String) -> String { publicPort == 443 ? zone : "\(zone):\(publicPort)" }
}
