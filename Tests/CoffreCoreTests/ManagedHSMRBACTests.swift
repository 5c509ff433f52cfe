import CoffreModel
import Testing

@testable import CoffreCore

/// Decisions of local RBAC on given assignments (no storage), then the definitions and assignments store.
@Suite struct ManagedHSMPolicyTests {
    let principal = ManagedHSMPrincipal(objectId: "caller", groupIds: ["team"])

    func definitions(_ extra: [ManagedHSMRoleDefinition] = []) -> [String: ManagedHSMRoleDefinition] {
        Dictionary(uniqueKeysWithValues: (ManagedHSMRoleDefinition.builtIn + extra).map { ($0.name, $0) })
    }

    func role(_ name: String) throws -> ManagedHSMRoleDefinition {
        try #require(ManagedHSMRoleDefinition.builtIn.first { $0.roleName == name })
    }

    func assignment(_ role: ManagedHSMRoleDefinition, to principal: String? = "caller", at scope: ManagedHSMRoleScope = .global)
        -> ManagedHSMRoleAssignment
    {
        ManagedHSMRoleAssignment(name: "a", scope: scope, roleDefinitionName: role.name, principalId: principal, created: 0)
    }

    /// The operations a built-in role allows at `/` on key `k`.
    func allowed(_ roleName: String) throws -> Set<String> {
        let assignments = [assignment(try role(roleName))]
        return Set(
            try ManagedHSMOperation.all.filter { operation in
                ManagedHSMPolicy.isAllowed(
                    principal, operation.dataAction, at: try operation.scope(keyName: "k"), assignments: assignments, definitions: definitions())
            }.map(\.name))
    }

    static let keyManagement: Set<String> = [
        "KeyCreate", "KeyImport", "KeyGet", "KeyList", "KeyListVersions", "KeyUpdate", "KeyDelete", "KeyBackup", "KeyRestore",
        "KeyEncrypt", "KeyDecrypt", "KeyWrap", "KeyUnwrap", "KeySign", "KeyVerify", "KeyRelease", "KeyGetAttestation", "KeyRotate",
        "KeyRotationPolicyGet", "KeyRotationPolicySet", "RandomBytes",
    ]
    static let roleManagement: Set<String> = [
        "RoleDefinitionList", "RoleDefinitionGet", "RoleDefinitionSet", "RoleDefinitionDelete", "RoleAssignmentList", "RoleAssignmentGet",
        "RoleAssignmentCreate", "RoleAssignmentDelete",
    ]
    static let roleReading: Set<String> = ["RoleDefinitionList", "RoleDefinitionGet", "RoleAssignmentList", "RoleAssignmentGet"]
    static let deletedKeys: Set<String> = ["KeyGetDeleted", "KeyListDeleted", "KeyRecover", "KeyPurge"]

    @Test func administratorManagesTheSecurityDomainBackupsSettingsAndRolesButNoKey() throws {
        #expect(
            try allowed("Managed HSM Administrator")
                == Self.roleManagement.union([
                    "SecurityDomainDownload", "SecurityDomainDownloadStatus", "SecurityDomainTransferKey", "SecurityDomainUpload",
                    "SecurityDomainUploadStatus", "FullBackup", "PreFullBackup", "FullBackupStatus", "FullRestore", "PreFullRestore",
                    "SelectiveKeyRestore", "RestoreStatus", "SettingsList", "SettingGet", "SettingUpdate",
                ]))
    }

    @Test func cryptoOfficerManagesRolesAndDeletedKeysOnly() throws {
        #expect(try allowed("Managed HSM Crypto Officer") == Self.roleManagement.union(Self.deletedKeys))
    }

    @Test func cryptoUserDoesEveryKeyOperationButRecoverAndPurge() throws {
        #expect(try allowed("Managed HSM Crypto User") == Self.keyManagement.union(Self.roleReading))
    }

    @Test func policyAdministratorManagesRolesOnly() throws {
        #expect(try allowed("Managed HSM Policy Administrator") == Self.roleManagement)
    }

    @Test func auditorReads() throws {
        #expect(
            try allowed("Managed HSM Crypto Auditor")
                == Self.roleReading.union([
                    "KeyGet", "KeyList", "KeyListVersions", "KeyGetAttestation", "KeyRotationPolicyGet", "KeyGetDeleted", "KeyListDeleted",
                ]))
    }

    @Test func serviceRolesDoWhatTheirNamesSay() throws {
        #expect(
            try allowed("Managed HSM Crypto Service Encryption User")
                == ["KeyGet", "KeyList", "KeyListVersions", "KeyGetAttestation", "KeyRotationPolicyGet", "KeyWrap", "KeyUnwrap"])
        #expect(try allowed("Managed HSM Crypto Service Release User") == ["KeyRelease"])
        #expect(try allowed("Managed HSM Backup User") == ["FullBackup", "PreFullBackup", "FullBackupStatus", "KeyBackup"])
        #expect(try allowed("Managed HSM Restore User") == ["FullRestore", "PreFullRestore", "SelectiveKeyRestore", "RestoreStatus", "KeyRestore"])
        #expect(try allowed("Managed HSM EKM Administrator").isEmpty)
    }

    @Test func builtInRolesHaveTheServicesIdsAndNames() {
        let roles = Dictionary(uniqueKeysWithValues: ManagedHSMRoleDefinition.builtIn.map { ($0.roleName, $0.name) })
        #expect(roles["Managed HSM Administrator"] == "a290e904-7015-4bba-90c8-60543313cdb4")
        #expect(roles["Managed HSM Crypto Officer"] == "515eb02d-2335-4d2d-92f2-b1cbdf9c3778")
        #expect(roles["Managed HSM Crypto User"] == "21dbd100-6940-42c2-9190-5d6cb909625b")
        #expect(roles["Managed HSM Policy Administrator"] == "4bd23610-cdcf-4971-bdee-bdc562cc28e4")
        #expect(roles["Managed HSM Crypto Auditor"] == "2c18b078-7c48-4d3a-af88-5a3a1b3f82b3")
        #expect(roles["Managed HSM Crypto Service Encryption User"] == "33413926-3206-4cdd-b39a-83574fe37a17")
        #expect(roles["Managed HSM Crypto Service Release User"] == "21dbd100-6940-42c2-9190-5d6cb909625c")
        #expect(roles["Managed HSM Backup User"] == "7b127d3c-77bd-4e3e-bbe0-dbb8971fa7f8")
        #expect(roles["Managed HSM Restore User"] == "6efe6056-5259-49d2-8b3d-d3d73544b20b")
        #expect(roles["Managed HSM EKM Administrator"] == "abdd7ec4-a273-4265-bf38-e001014e2d8e")
        for role in ManagedHSMRoleDefinition.builtIn {
            #expect(role.id == "Microsoft.KeyVault/providers/Microsoft.Authorization/roleDefinitions/\(role.name)")
            #expect(role.type == .builtIn && role.assignableScopes == ["/"] && !role.description.isEmpty)
            #expect(role.permissions.flatMap(\.dataActions).allSatisfy { $0.hasPrefix("Microsoft.KeyVault/managedHsm/") })
        }
    }

    @Test func everyOperationNeedsAKnownDataActionAndKeyOperationsNeedAnActivePool() {
        #expect(ManagedHSMOperation.all.count == 48)
        #expect(Set(ManagedHSMOperation.all.map(\.name)).count == ManagedHSMOperation.all.count)
        for operation in ManagedHSMOperation.all {
            #expect(ManagedHSMDataAction.known.contains(operation.dataAction), "\(operation)")
            #expect(
                operation.requiresActivation
                    == (Self.keyManagement.union(Self.deletedKeys).contains(operation.name)
                        || [
                            "FullBackup", "PreFullBackup", "FullBackupStatus", "FullRestore", "PreFullRestore", "SelectiveKeyRestore",
                            "RestoreStatus",
                        ].contains(operation.name)),
                "\(operation)")
        }
    }

    @Test func scopesNarrowAssignments() throws {
        let user = try role("Managed HSM Crypto User")
        let onK1 = [assignment(user, at: .key("k1"))]
        let onKeys = [assignment(user, at: .keys)]
        #expect(ManagedHSMPolicy.isAllowed(principal, .keysSign, at: .key("k1"), assignments: onK1, definitions: definitions()))
        #expect(!ManagedHSMPolicy.isAllowed(principal, .keysSign, at: .key("k2"), assignments: onK1, definitions: definitions()))
        #expect(!ManagedHSMPolicy.isAllowed(principal, .keysRead, at: .keys, assignments: onK1, definitions: definitions()))
        #expect(ManagedHSMPolicy.isAllowed(principal, .keysSign, at: .key("k2"), assignments: onKeys, definitions: definitions()))
        #expect(ManagedHSMPolicy.isAllowed(principal, .keysRead, at: .keys, assignments: onKeys, definitions: definitions()))
        #expect(!ManagedHSMPolicy.isAllowed(principal, .rng, at: .global, assignments: onKeys, definitions: definitions()))
        #expect(ManagedHSMPolicy.isAllowed(principal, .rng, at: .global, assignments: [assignment(user)], definitions: definitions()))
    }

    @Test func scopeParsing() throws {
        #expect(try ManagedHSMRoleScope(parsing: "/") == .global)
        #expect(try ManagedHSMRoleScope(parsing: "//") == .global)
        #expect(try ManagedHSMRoleScope(parsing: "") == .global)
        #expect(try ManagedHSMRoleScope(parsing: "/Keys") == .keys)
        #expect(try ManagedHSMRoleScope(parsing: "/keys/My-Key") == .key("my-key"))
        #expect(try ManagedHSMRoleScope(parsing: "keys/k/").description == "/keys/k")
        for bad in ["/secrets", "/keys/a/b", "/keys/bad_name"] {
            #expect(throws: CoffreError.self) { try ManagedHSMRoleScope(parsing: bad) }
        }
    }

    @Test func groupsAndOtherPrincipals() throws {
        let user = try role("Managed HSM Crypto User")
        #expect(ManagedHSMPolicy.isAllowed(principal, .keysRead, at: .keys, assignments: [assignment(user, to: "team")], definitions: definitions()))
        #expect(!ManagedHSMPolicy.isAllowed(principal, .keysRead, at: .keys, assignments: [assignment(user, to: "else")], definitions: definitions()))
        #expect(!ManagedHSMPolicy.isAllowed(principal, .keysRead, at: .keys, assignments: [assignment(user, to: nil)], definitions: definitions()))
        let unknownRole = ManagedHSMRoleAssignment(name: "a", scope: .global, roleDefinitionName: "nope", principalId: "caller", created: 0)
        #expect(!ManagedHSMPolicy.isAllowed(principal, .keysRead, at: .keys, assignments: [unknownRole], definitions: definitions()))
    }

    @Test func wildcardsAndNotDataActionsAsAzureEvaluatesThem() throws {
        let custom = ManagedHSMRoleDefinition(
            name: "c", roleName: "keys but delete", description: "", type: .custom,
            permissions: [.init(dataActions: ["Microsoft.KeyVault/managedHSM/keys/*"], notDataActions: ["*/keys/delete", "*/deletedKeys/*"])],
            assignableScopes: ["/"])
        let assignments = [assignment(custom)]
        let defs = definitions([custom])
        for action in [ManagedHSMDataAction.keysCreate, .keysSign, .keysRelease, .keysRead] {
            #expect(ManagedHSMPolicy.isAllowed(principal, action, at: .key("k"), assignments: assignments, definitions: defs), "\(action)")
        }
        for action in [ManagedHSMDataAction.keysDelete, .deletedKeysDelete, .deletedKeysRecover, .rng, .roleAssignmentsRead] {
            #expect(!ManagedHSMPolicy.isAllowed(principal, action, at: .key("k"), assignments: assignments, definitions: defs), "\(action)")
        }
        // A not-data action is no deny: another role still grants the action.
        let withUser = assignments + [assignment(try role("Managed HSM Crypto User"))]
        #expect(ManagedHSMPolicy.isAllowed(principal, .keysDelete, at: .key("k"), assignments: withUser, definitions: defs))
        // ... nor does it reach into another permission block of the same role.
        let twoBlocks = ManagedHSMRoleDefinition(
            name: "d", roleName: "two blocks", description: "", type: .custom,
            permissions: [
                .init(dataActions: [ManagedHSMDataAction.keysEncrypt.value]), .init(notDataActions: [ManagedHSMDataAction.keysEncrypt.value]),
            ],
            assignableScopes: ["/"])
        #expect(
            ManagedHSMPolicy.isAllowed(
                principal, .keysEncrypt, at: .key("k"), assignments: [assignment(twoBlocks)], definitions: definitions([twoBlocks])))
    }

    @Test func aRefusalNamesTheMissingDataActionAndScope() throws {
        #expect(throws: ManagedHSMError.accessDenied(action: "Microsoft.KeyVault/managedHsm/keys/create", scope: "/keys/k1")) {
            try ManagedHSMPolicy.authorize(
                principal, .keysCreate, at: .key("k1"), assignments: [assignment(try role("Managed HSM Crypto Auditor"))], definitions: definitions())
        }
        #expect(
            ManagedHSMError.accessDenied(action: "Microsoft.KeyVault/managedHsm/keys/create", scope: "/keys/k1").description
                == "Not authorized to access Microsoft.KeyVault/managedHsm/keys/create on /keys/k1")
    }
}

@Suite struct ManagedHSMAccessControlTests {
    let definitionName = "5a6b7c8d-0000-4000-8000-000000000001"

    @Test func customRolesAreCreatedUpdatedInPlaceAndDeleted() async throws {
        let fixture = try PoolFixture()
        let pool = try await fixture.pool("pool").name
        let permissions = [ManagedHSMPermission(dataActions: [ManagedHSMDataAction.keysRead.value])]
        let (created, isNew) = try await fixture.access.setDefinition(
            named: definitionName.uppercased(), .init(roleName: "reader", description: "test", permissions: permissions), in: pool)
        #expect(isNew)
        #expect(created.name == definitionName && created.type == .custom && created.description == "test")
        #expect(created.assignableScopes == ["/"] && created.permissions == permissions)

        let notRead = [ManagedHSMPermission(notDataActions: [ManagedHSMDataAction.keysRead.value])]
        let (updated, again) = try await fixture.access.setDefinition(
            named: definitionName, .init(roleName: "reader 2", permissions: notRead), in: pool)
        #expect(!again)
        #expect(updated.roleName == "reader 2" && updated.description == "" && updated.permissions == notRead)
        #expect(try await fixture.access.definition(named: definitionName, in: pool) == updated)
        #expect(try await fixture.access.definitions(in: pool).filter { $0.name == definitionName } == [updated])
        #expect(try await fixture.access.definitions(in: pool).count == ManagedHSMRoleDefinition.builtIn.count + 1)

        #expect(try await fixture.access.deleteDefinition(named: definitionName, in: pool) == updated)
        await #expect(throws: ManagedHSMError.roleDefinitionNotFound(definitionName)) {
            try await fixture.access.definition(named: definitionName, in: pool)
        }
        await #expect(throws: ManagedHSMError.roleDefinitionNotFound(definitionName)) {
            try await fixture.access.deleteDefinition(named: definitionName, in: pool)
        }
    }

    @Test func aCustomRoleWithoutNameIsNamedByItsGUID() async throws {
        let fixture = try PoolFixture()
        let pool = try await fixture.pool("pool").name
        let (definition, _) = try await fixture.access.setDefinition(named: definitionName, .init(), in: pool)
        #expect(definition.roleName == definitionName && definition.permissions.isEmpty)
    }

    @Test func customRoleRefusals() async throws {
        let fixture = try PoolFixture()
        let pool = try await fixture.pool("pool").name
        let access = fixture.access
        await #expect(throws: CoffreError.badParameter("Cannot re-use the name/GUID matching that of a built-in role. Please use a unique role ID."))
        {
            try await access.setDefinition(named: ManagedHSMRoleDefinition.administratorName, .init(roleName: "x"), in: pool)
        }
        let refused: [ManagedHSMAccessControl.DefinitionRequest] = [
            .init(permissions: [.init(dataActions: ["Microsoft.KeyVault/managedHsm/keys/fly/action"])]),
            .init(permissions: [.init(notDataActions: ["Microsoft.Storage/*"])]),
            .init(assignableScopes: ["/keys"]),
            .init(type: "AKVBuiltInRole"),
        ]
        for request in refused {
            await #expect(throws: CoffreError.self) { try await access.setDefinition(named: definitionName, request, in: pool) }
        }
        await #expect(throws: CoffreError.self) { try await access.setDefinition(named: "not-a-guid", .init(), in: pool) }
        await #expect(throws: CoffreError.self) {
            try await access.setDefinition(named: definitionName, .init(roleName: "managed hsm crypto user"), in: pool)
        }
        await #expect(throws: ManagedHSMError.poolNotFound("nope")) {
            try await access.setDefinition(named: definitionName, .init(), in: try ManagedHSMName("nope"))
        }
        await #expect(throws: CoffreError.badParameter("Built-in roles cannot be deleted.")) {
            try await access.deleteDefinition(named: ManagedHSMRoleDefinition.administratorName, in: pool)
        }
        #expect(try await access.definitions(in: pool).count == ManagedHSMRoleDefinition.builtIn.count)
        let (accepted, _) = try await access.setDefinition(
            named: definitionName, .init(type: "customrole", permissions: [.init(dataActions: ["*"])], assignableScopes: ["/"]), in: pool)
        #expect(accepted.permissions == [.init(dataActions: ["*"])])
    }

    @Test func assignmentsAreCreatedReadAndDeleted() async throws {
        let fixture = try PoolFixture()
        let pool = try await fixture.pool("pool").name
        let access = fixture.access
        let name = "aaaaaaaa-0000-4000-8000-000000000001"
        let crypto = "21dbd100-6940-42c2-9190-5d6cb909625b"
        for reference in [
            "Microsoft.KeyVault/providers/Microsoft.Authorization/roleDefinitions/\(crypto)",
            "/Microsoft.KeyVault/providers/Microsoft.Authorization/roleDefinitions/\(crypto)", crypto,
        ] {
            let (assignment, created) = try await access.createAssignment(
                named: name, scope: .keys, roleDefinitionId: reference, principalId: "Caller", in: pool)
            #expect(assignment.roleDefinitionId == "Microsoft.KeyVault/providers/Microsoft.Authorization/roleDefinitions/\(crypto)")
            #expect(assignment.id == "/keys/providers/Microsoft.Authorization/roleAssignments/\(name)")
            #expect(assignment.principalId == "caller")
            #expect(created == (reference.hasPrefix("Microsoft")))
        }
        try await access.authorize(.init(objectId: "caller"), .keySign, at: .key("k"), in: pool)
        await #expect(throws: ManagedHSMError.accessDenied(action: ManagedHSMDataAction.rng.value, scope: "/")) {
            try await access.authorize(.init(objectId: "caller"), .randomBytes, at: .global, in: pool)
        }
        #expect(try await access.assignment(named: name.uppercased(), in: pool).scope == .keys)
        #expect(try await access.assignments(in: pool).count == 2)

        await #expect(throws: CoffreError.self) {
            try await access.createAssignment(named: name, scope: .global, roleDefinitionId: crypto, principalId: "caller", in: pool)
        }
        await #expect(throws: CoffreError.conflict("The role assignment already exists.")) {
            try await access.createAssignment(
                named: "aaaaaaaa-0000-4000-8000-000000000002", scope: .keys, roleDefinitionId: crypto, principalId: "caller", in: pool)
        }
        await #expect(throws: CoffreError.self) {
            try await access.createAssignment(
                named: "aaaaaaaa-0000-4000-8000-000000000003", scope: .keys, roleDefinitionId: "5a6b7c8d-0000-4000-8000-00000000ffff",
                principalId: "caller", in: pool)
        }

        #expect(try await access.deleteAssignment(named: name, in: pool).name == name)
        await #expect(throws: ManagedHSMError.roleAssignmentNotFound(name)) { try await access.assignment(named: name, in: pool) }
        await #expect(throws: ManagedHSMError.roleAssignmentNotFound(name)) { try await access.deleteAssignment(named: name, in: pool) }
        await #expect(throws: ManagedHSMError.accessDenied(action: ManagedHSMDataAction.keysSign.value, scope: "/keys/k")) {
            try await access.authorize(.init(objectId: "caller"), .keySign, at: .key("k"), in: pool)
        }
    }

    @Test func anAssignmentWithoutPrincipalIsKeptAndGrantsNothing() async throws {
        let fixture = try PoolFixture()
        let pool = try await fixture.pool("pool").name
        let (assignment, _) = try await fixture.access.createAssignment(
            named: "bbbbbbbb-0000-4000-8000-000000000001", scope: .global, roleDefinitionId: ManagedHSMRoleDefinition.administratorName,
            principalId: nil, in: pool)
        #expect(assignment.principalId == nil)
        #expect(assignment.id == "/providers/Microsoft.Authorization/roleAssignments/bbbbbbbb-0000-4000-8000-000000000001")
        #expect(try await fixture.access.assignment(named: assignment.name, in: pool) == assignment)
    }

    @Test func aCustomRoleInUseCannotBeDeletedAndGrantsThroughAGroup() async throws {
        let fixture = try PoolFixture()
        let pool = try await fixture.pool("pool").name
        let access = fixture.access
        _ = try await access.setDefinition(
            named: definitionName, .init(roleName: "signer", permissions: [.init(dataActions: ["Microsoft.KeyVault/managedHsm/keys/sign/action"])]),
            in: pool)
        _ = try await access.createAssignment(
            named: "cccccccc-0000-4000-8000-000000000001", scope: .key("k"), roleDefinitionId: definitionName, principalId: "group-1", in: pool)
        try await access.authorize(.init(objectId: "someone", groupIds: ["GROUP-1"]), .keySign, at: .key("k"), in: pool)
        await #expect(throws: ManagedHSMError.self) {
            try await access.authorize(.init(objectId: "someone"), .keySign, at: .key("k"), in: pool)
        }
        await #expect(throws: CoffreError.self) { try await access.deleteDefinition(named: definitionName, in: pool) }
    }
}
