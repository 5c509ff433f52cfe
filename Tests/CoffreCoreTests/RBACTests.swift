import CoffreModel
import CoffreStorage
import Foundation
import Testing

@testable import CoffreCore

@Suite struct RBACTests {
    let caller = Caller(objectId: "oid", appId: "app", tenantId: "tid", issuer: "iss")

    func vault() throws -> VaultRecord { VaultRecord(name: try VaultName("vault"), created: 0, rbacAuthorization: true) }

    func allowed(_ role: String, _ operation: VaultOperation, scope: RoleScope? = nil, object: RoleScope.ObjectScope? = nil) throws -> Bool {
        let vault = try vault()
        let assignment = RoleAssignment(
            id: "a", roleId: try RoleDefinition.named(role).id, principalId: "oid", scope: scope ?? RoleScope(vault: vault.name), created: 0)
        return (try? Authorizer().authorize(caller, operation, in: vault, object: object, assignments: [assignment])) != nil
    }

    @Test func secretRolesGrantExactlyTheirOperations() throws {
        let readers: Set<VaultOperation> = [.secretList, .secretListVersions, .secretGetDeleted, .secretListDeleted]
        for operation in VaultOperation.secretOperations {
            #expect(try allowed("Key Vault Administrator", operation))
            #expect(try allowed("Key Vault Secrets Officer", operation))
            #expect(try allowed("Key Vault Secrets User", operation) == (readers.contains(operation) || operation == .secretGet), "\(operation)")
            #expect(try allowed("Key Vault Reader", operation) == readers.contains(operation), "\(operation)")
            #expect(try allowed("Key Vault Certificate User", operation) == (readers.contains(operation) || operation == .secretGet))
            for role in [
                "Key Vault Crypto Officer", "Key Vault Crypto User", "Key Vault Crypto Service Encryption User",
                "Key Vault Crypto Service Release User", "Key Vault Certificates Officer",
            ] {
                #expect(try !allowed(role, operation), "\(role) \(operation)")
            }
        }
    }

    @Test func objectScopeCoversOnlyThatObject() throws {
        let vault = try vault()
        let scope = try RoleScope(parsing: "/vaults/vault/secrets/db-Password")
        let mine = RoleScope.ObjectScope(kind: .secret, name: "db-password")
        let other = RoleScope.ObjectScope(kind: .secret, name: "other")
        #expect(try allowed("Key Vault Secrets User", .secretGet, scope: scope, object: mine))
        #expect(try !allowed("Key Vault Secrets User", .secretGet, scope: scope, object: other))
        #expect(try !allowed("Key Vault Secrets User", .secretList, scope: scope))
        #expect(scope.covers(vault: vault.name, object: mine))
    }

    @Test func scopesParseAzureResourceIds() throws {
        #expect(try RoleScope(parsing: "/subscriptions/x/resourceGroups/y/providers/Microsoft.KeyVault/vaults/Vault").description == "/vaults/vault")
        #expect(try RoleScope(parsing: "/vaults/vault/keys/k1").object == .init(kind: .key, name: "k1"))
        #expect(throws: CoffreError.self) { try RoleScope(parsing: "/vaults/vault/blobs/x") }
        #expect(throws: CoffreError.self) { try RoleScope(parsing: "/nothing") }
    }

    @Test func refusalsNameTheDataAction() throws {
        let vault = try vault()
        #expect {
            try Authorizer().authorize(caller, .secretGet, in: vault, assignments: [])
        } throws: { error in
            guard case .forbidden(let inner, let message) = error as? CoffreError else { return false }
            return inner == .roleAssignments && message.contains("Microsoft.KeyVault/vaults/secrets/getSecret/action")
        }
    }

    @Test func wildcardsMatchLikeAzure() {
        let admin = RoleDefinition.builtIn[0]
        #expect(admin.grants("Microsoft.KeyVault/vaults/keys/sign/action"))
        #expect(!admin.grants("Microsoft.Storage/accounts/read"))
        let reader = RoleDefinition.builtIn[1]
        #expect(reader.grants("Microsoft.KeyVault/vaults/certificatecas/read"))
        #expect(!reader.grants("Microsoft.KeyVault/vaults/secrets/getSecret/action"))
    }

    @Test func assignmentsAreStoredPerPrincipal() async throws {
        let storage = MemoryStorage()
        let clock = ManualClock()
        let vaults = VaultDirectory(storage: storage, clock: clock)
        _ = try await vaults.create(VaultName("vault"), settings: .init(rbacAuthorization: true), owner: nil)
        let assignments = RoleAssignments(storage: storage, clock: clock)
        let created = try await assignments.create(
            role: try .named("Key Vault Secrets User"), principalId: "OID", scope: RoleScope(parsing: "/vaults/vault"))
        await #expect(throws: CoffreError.self) {
            try await assignments.create(role: try .named("key vault secrets user"), principalId: "oid", scope: RoleScope(parsing: "/vaults/vault"))
        }
        await #expect(throws: CoffreError.vaultNotFound("nowhere")) {
            try await assignments.create(role: try .named("Key Vault Reader"), principalId: "oid", scope: RoleScope(parsing: "/vaults/nowhere"))
        }
        #expect(try await assignments.forPrincipal("oid", in: VaultName("vault")).map(\.id) == [created.id])
        #expect(try await assignments.forPrincipal("someone-else", in: VaultName("vault")).isEmpty)
        _ = try await assignments.delete(id: created.id, in: VaultName("vault"))
        #expect(try await assignments.list(in: VaultName("vault")).isEmpty)
    }
}

@Suite struct AuditLineTests {
    @Test func theHandWrittenLineDecodesToTheSameEvent() throws {
        let event = AuditEvent(
            time: Date(timeIntervalSince1970: 1_800_000_000), resourceId: "/vaults/v", operationName: "SecretGet", operationVersion: "7.4",
            status: 403, reason: "Forbidden", description: "quote \" backslash \\ newline \n tab \t é", durationMs: 12,
            callerIpAddress: "127.0.0.1", correlationId: nil,
            caller: Caller(objectId: "oid", appId: "app", tenantId: "tid", issuer: "https://iss"),
            properties: .init(
                id: "https://v.vault.localhost:8443/secrets/x", requestUri: "https://v/secrets/x", httpStatusCode: 403, clientInfo: "ua",
                requestId: "r", isAccessPolicyMatch: false, isRbacAuthorized: nil))
        let line = try event.jsonLine()
        #expect(line.last == UInt8(ascii: "\n"))
        #expect(try JSONDecoder().decode(AuditEvent.self, from: Data(line)) == event)
    }

    @Test(
        arguments: [
            (0, "1970-01-01T00:00:00.000Z"), (951_782_400_123, "2000-02-29T00:00:00.123Z"), (1_709_164_799_999, "2024-02-28T23:59:59.999Z"),
            (1_735_689_599_001, "2024-12-31T23:59:59.001Z"), (1_800_000_000_000, "2027-01-15T08:00:00.000Z"),
            (4_102_444_800_500, "2100-01-01T00:00:00.500Z"), (-1, "1969-12-31T23:59:59.999Z"),
        ] as [(Int64, String)])
    func timestampsAreUTCMilliseconds(_ milliseconds: Int64, _ expected: String) throws {
        let text = AuditEvent.timestamp(Date(timeIntervalSince1970: Double(milliseconds) / 1000 + 0.0000001))
        #expect(text == expected)
        let parsed = try Date.ISO8601FormatStyle(includingFractionalSeconds: true).parse(text)
        #expect(Int64((parsed.timeIntervalSince1970 * 1000).rounded()) == milliseconds)
    }
}

@Suite struct MetricsTests {
    @Test func seriesAreRenderedWithSafeLabels() {
        let metrics = MetricsRegistry()
        metrics.request(operation: "SecretGet", status: 200, seconds: 0.002)
        metrics.request(operation: "SecretGet", status: 200, seconds: 0.2)
        metrics.request(operation: "SecretGet", status: 404, seconds: 0.001)
        metrics.crypto(operation: "sign", algorithm: "ES256")
        metrics.crypto(operation: "sign", algorithm: "x\"}\n{evil")
        metrics.storage("get", seconds: 0.0001)
        let text = metrics.render(sealed: false)
        #expect(text.contains(#"coffre_requests_total{operation="SecretGet",status="200"} 2"#))
        #expect(text.contains(#"coffre_requests_total{operation="SecretGet",status="404"} 1"#))
        #expect(text.contains(#"coffre_request_duration_seconds_bucket{operation="SecretGet",le="0.0025"} 2"#))
        #expect(text.contains(#"coffre_request_duration_seconds_count{operation="SecretGet"} 3"#))
        #expect(text.contains(#"coffre_crypto_operations_total{operation="sign",algorithm="ES256"} 1"#))
        #expect(text.contains(#"coffre_crypto_operations_total{operation="sign",algorithm="xevil"} 1"#))
        #expect(text.contains(#"coffre_storage_duration_seconds_count{operation="get"} 1"#))
        #expect(text.contains("coffre_sealed 0"))
    }
}
