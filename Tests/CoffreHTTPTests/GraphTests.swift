import CoffreAuth
import CoffreDirectory
import CoffreModel
import CoffreServer
import Foundation
import HTTPTypes
import Testing

@testable import CoffreHTTP

/// The Microsoft Graph subset under `/v1.0` on the server's host, as the Azure CLI calls it, through the router.
@Suite struct GraphTests {
    static let graph = "https://localhost:8443"

    /// A user signed in by password (the CLI's public client) and its Graph token.
    func userToken(_ h: Harness, _ upn: String) async throws -> (UserRecord, String) {
        let (user, _) = try await h.server.services.directory.users.create(userPrincipalName: upn, password: "pass-word-1")
        let reply = try await SignInTests().passwordGrant(h, user: upn, password: "pass-word-1", resource: Self.graph)
        return (user, try #require(reply.json["access_token"] as? String))
    }

    func get(_ h: Harness, _ path: String, token: String?) async throws -> Harness.Reply {
        try await h.send(.get, path, host: "localhost:8443", token: token)
    }

    @Test func theSignedInUserAndUsersByNameOrId() async throws {
        let h = try await Harness()
        let (alice, token) = try await userToken(h, "alice@example.test")
        let me = try await get(h, "/v1.0/me", token: token)
        #expect(me.json["id"] as? String == alice.objectId)
        #expect(me.json["userPrincipalName"] as? String == "alice@example.test")

        let filtered = try await get(h, "/v1.0/users?$filter=userPrincipalName%20eq%20%27ALICE@example.test%27", token: token)
        #expect(filtered.values.map { $0["id"] as? String } == [alice.objectId])
        #expect(try await get(h, "/v1.0/users?$filter=userPrincipalName%20eq%20%27nobody@x%27", token: token).values.isEmpty)
        #expect(try await get(h, "/v1.0/users/alice@example.test", token: token).json["id"] as? String == alice.objectId)
        #expect(try await get(h, "/v1.0/users/\(alice.objectId)", token: token).json["id"] as? String == alice.objectId)
        let missing = try await get(h, "/v1.0/users/\(UUID().uuidString)", token: token)
        #expect(missing.status == .notFound)
        #expect(missing.errorCode == "Request_ResourceNotFound")
    }

    @Test func servicePrincipalsGroupsAndObjectsByIds() async throws {
        let h = try await Harness()
        let (alice, token) = try await userToken(h, "alice@example.test")
        let (app, _) = try await h.server.services.directory.principals.create(displayName: "billing")
        let group = try await h.server.services.directory.groups.create(name: "readers")

        let byName = try await get(h, "/v1.0/servicePrincipals?$filter=servicePrincipalNames/any(c:c%20eq%20%27\(app.clientId)%27)", token: token)
        #expect(byName.values.map { $0["id"] as? String } == [app.objectId])
        #expect(byName.values.first?["appId"] as? String == app.clientId)
        let byAppId = try await get(h, "/v1.0/servicePrincipals?$filter=appId%20eq%20%27\(app.clientId)%27", token: token)
        #expect(byAppId.values.count == 1)
        #expect(try await get(h, "/v1.0/servicePrincipals/\(app.objectId)", token: token).json["displayName"] as? String == "billing")
        #expect(try await get(h, "/v1.0/groups?$filter=displayName%20eq%20%27readers%27", token: token).values.count == 1)
        #expect(try await get(h, "/v1.0/groups/\(group.objectId)", token: token).json["displayName"] as? String == "readers")

        let objects = try await h.send(
            .post, "/v1.0/directoryObjects/getByIds", host: "localhost:8443", token: token,
            json: ["ids": [alice.objectId, app.objectId, group.objectId, UUID().uuidString], "types": ["user", "group", "servicePrincipal"]])
        #expect(
            objects.values.map { $0["@odata.type"] as? String } == [
                "#microsoft.graph.user", "#microsoft.graph.servicePrincipal", "#microsoft.graph.group",
            ])
        let usersOnly = try await h.send(
            .post, "/v1.0/directoryObjects/getByIds", host: "localhost:8443", token: token, json: ["ids": [app.objectId], "types": ["user"]])
        #expect(usersOnly.values.isEmpty)
    }

    @Test func refusalsAreInGraphsShape() async throws {
        let h = try await Harness()
        let (_, token) = try await userToken(h, "alice@example.test")
        let missing = try await get(h, "/v1.0/me", token: nil)
        #expect(missing.status == .unauthorized)
        #expect(missing.errorCode == "InvalidAuthenticationToken")
        let vaultToken = try await get(h, "/v1.0/me", token: try await h.adminToken())
        #expect(vaultToken.errorCode == "InvalidAuthenticationToken")
        // An application has no `/me`.
        let app = try await get(h, "/v1.0/me", token: try await h.adminToken(resource: Self.graph))
        #expect(app.status == .badRequest)
        #expect(app.errorCode == "BadRequest")
        let unsupported = try await get(h, "/v1.0/users?$filter=mail%20ne%20%27x%27", token: token)
        #expect(unsupported.errorCode == "Request_UnsupportedQuery")
        let unknown = try await get(h, "/v1.0/applications", token: token)
        #expect(unknown.status == .badRequest)
        #expect(unknown.errorCode == "BadRequest")
    }
}
