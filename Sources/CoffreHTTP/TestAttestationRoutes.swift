import CoffreAuth
import HTTPTypes

/// The test attestation service (``TestAttestationService``) on the server's own host, under `/test-attestation`:
/// `generate-test-token` (`{"token": …}`), its OpenID configuration and keys. Anyone may call, as Microsoft's test
/// service allows.
enum TestAttestationRoutes {
    static let prefix = "test-attestation"

    static func group(_ service: TestAttestationService) -> RouteGroup<OperationName, Void> {
        RouteGroup(
            hosts: [.server], prefix: prefix, policy: .open(),
            routes: [
                Route(.get, "generate-test-token", "TestAttestationToken") { _ in try JSON.response(["token": try await service.token()]) },
                Route(.get, ".well-known/openid-configuration", "TestAttestationDiscovery") { _ in
                    try JSON.response(service.openIDConfiguration)
                },
                Route(.get, "keys", "TestAttestationKeys") { _ in try JSON.response(try await service.jwks()) },
                Route(.get, "certs", "TestAttestationKeys") { _ in try JSON.response(try await service.jwks()) },
            ],
            admit: { _, _ in })
    }
}
