import CoffreCertificates
import CoffreCrypto
import CoffreKeyCustody
import CoffreModel
import CoffreStorage

/// Loads vaults from seed documents and writes them back out (`coffre serve --seed`, `coffre vault import|export`).
///
/// Loading is idempotent (what is already as asked is left alone; a changed secret value or key adds a version) and
/// all-or-nothing per vault: the services write to a ``StagingStorage`` that is committed in one transaction at the
/// end, so a failure anywhere leaves the vault as it was.
public struct VaultSeeding: Sendable {
    let storage: any StorageBackend
    let clock: any WallClock
    let backups: BackupCodec
    /// The server's tenant: access policies name it unless told otherwise.
    let tenantId: String
    /// Where seeded keys live (the server's custody: `-HSM` keys in its token, if it has one).
    let custody: RoutingCustody
    /// The issuer of platform-managed certificates.
    let platformAuthority: CertificateService.PlatformAuthority?

    public init(
        storage: any StorageBackend, clock: any WallClock, backups: BackupCodec, tenantId: String,
        custody: RoutingCustody = RoutingCustody(hardware: nil), platformAuthority: CertificateService.PlatformAuthority? = nil
    ) {
        self.storage = storage
        self.clock = clock
        self.backups = backups
        self.tenantId = tenantId
        self.custody = custody
        self.platformAuthority = platformAuthority
    }

    /// The services of one load, writing to `staging`.
    private struct Services {
        let vaults: VaultDirectory
        let roles: RoleAssignments
        let secrets: SecretService
        let keys: KeyService
        let certificates: CertificateService

        init(_ staging: any StorageBackend, seeding: VaultSeeding) {
            let (clock, backups) = (seeding.clock, seeding.backups)
            vaults = VaultDirectory(storage: staging, clock: clock)
            roles = RoleAssignments(storage: staging, clock: clock)
            secrets = SecretService(storage: staging, clock: clock, backups: backups)
            keys = KeyService(storage: staging, clock: clock, backups: backups, custody: seeding.custody)
            certificates = CertificateService(
                storage: staging, clock: clock, backups: backups, keys: keys, secrets: secrets, platformAuthority: seeding.platformAuthority)
        }
    }

    /// Loads `seed` into the vault `name` (created, with `owner` holding every permission, when missing).
    /// - Parameter principal: resolves a principal's client id or name to its object id (object ids pass through).
    public func load(
        _ seed: VaultSeed, into name: VaultName, owner: AccessPolicy?, principal: @Sendable (String) async throws -> String
    ) async throws -> SeedReport {
        let staging = StagingStorage(base: storage)
        let services = Services(staging, seeding: self)
        var report = SeedReport(vault: name.value)
        var vault: VaultRecord
        if let existing = try? await services.vaults.get(name) {
            vault = existing
            report.unchanged.append("vault")
        } else {
            let settings = VaultDirectory.Settings(
                retentionDays: seed.retentionDays ?? 90, purgeProtection: seed.purgeProtection ?? false,
                rbacAuthorization: seed.rbacAuthorization ?? false)
            vault = try await services.vaults.create(name, settings: settings, owner: owner)
            if settings.rbacAuthorization, let owner {
                _ = try await services.roles.create(
                    role: try .named("Key Vault Administrator"), principalId: owner.objectId, scope: RoleScope(vault: name))
            }
            report.created.append("vault")
        }
        for policy in seed.accessPolicies ?? [] {
            var granted: [PermissionArea: Set<String>] = [:]
            for (area, names) in policy.permissions {
                guard let area = PermissionArea(rawValue: area) else {
                    throw CoffreError.badParameter("'\(area)' is not a permission area (keys, secrets, certificates, storage).")
                }
                granted[area] = try AccessPolicy.permissions(names, in: area)
            }
            let wanted = AccessPolicy(
                tenantId: policy.tenantId?.lowercased() ?? tenantId, objectId: try await principal(policy.objectId), permissions: granted)
            let label = "accessPolicy/\(wanted.objectId)"
            if vault.accessPolicies.contains(wanted) {
                report.unchanged.append(label)
            } else {
                vault = try await services.vaults.setPolicy(wanted, on: name)
                report.changed.append(label)
            }
        }
        if let assignments = seed.roleAssignments, !assignments.isEmpty {
            let existing = try await services.roles.list(in: name)
            for assignment in assignments {
                let role = try RoleDefinition.named(assignment.role)
                let principalId = try await principal(assignment.assignee)
                let scope = try RoleScope(parsing: assignment.scope ?? "/vaults/\(name)")
                let label = "roleAssignment/\(role.name)/\(principalId)"
                if existing.contains(where: { $0.roleId == role.id && $0.principalId == principalId.lowercased() && $0.scope == scope }) {
                    report.unchanged.append(label)
                } else {
                    _ = try await services.roles.create(role: role, principalId: principalId, scope: scope)
                    report.created.append(label)
                }
            }
        }
        for secret in seed.secrets ?? [] { try await load(secret, in: name, services, &report) }
        for key in seed.keys ?? [] { try await load(key, in: name, services, &report) }
        for certificate in seed.certificates ?? [] { try await load(certificate, in: name, services, &report) }
        try await staging.commit()
        return report
    }

    private func load(_ seed: SecretSeed, in vault: VaultName, _ services: Services, _ report: inout SeedReport) async throws {
        let label = "secret/\(seed.name)"
        let current = try await services.secrets.store.latest(in: vault, name: ObjectName(seed.name, kind: .secret))
        if let value = seed.value, current == nil || current?.record.value != value || current?.record.contentType != seed.contentType {
            _ = try await services.secrets.set(
                in: vault, name: seed.name, value: value,
                properties: .init(contentType: .some(seed.contentType), attributes: seed.attributeChanges, tags: seed.tags.map { .some($0) }))
            if current == nil { report.created.append(label) } else { report.changed.append(label) }
            return
        }
        guard let current else { throw CoffreError.badParameter("The secret \(seed.name) does not exist yet: the seed must give its value.") }
        guard let changes = seed.changes(from: current.record.attributes, tags: current.record.tags) else {
            report.unchanged.append(label)
            return
        }
        _ = try await services.secrets.update(
            in: vault, name: seed.name, version: nil, properties: .init(attributes: changes.attributes, tags: changes.tags))
        report.changed.append(label)
    }

    private func load(_ seed: KeySeed, in vault: VaultName, _ services: Services, _ report: inout SeedReport) async throws {
        let label = "key/\(seed.name)"
        let current = try await services.keys.store.latest(in: vault, name: ObjectName(seed.name, kind: .key))
        let properties = KeyService.Properties(keyOps: seed.ops, attributes: seed.attributeChanges, tags: seed.tags.map { .some($0) })
        if let given = try Self.material(of: seed) {
            let stored = Base64.standardEncoded(given.storedRepresentation)
            if current?.record.material != stored {
                _ = try await services.keys.importKey(
                    in: vault, name: seed.name, jwk: given.privateJWK(), hsm: seed.kty?.hasSuffix("-HSM") ?? false, properties: properties)
                if current == nil { report.created.append(label) } else { report.changed.append(label) }
                return
            }
        } else {
            let spec = try Self.spec(of: seed, current: current?.record)
            if !(current.map { Self.matches(spec, $0.record) } ?? false) {
                _ = try await services.keys.create(in: vault, name: seed.name, spec: spec, properties: properties)
                if current == nil { report.created.append(label) } else { report.changed.append(label) }
                return
            }
        }
        guard let current else { return }
        let opsChanged = seed.ops.map { Set($0) != Set(current.record.keyOps) } ?? false
        let changes = seed.changes(from: current.record.attributes, tags: current.record.tags)
        guard opsChanged || changes != nil else {
            report.unchanged.append(label)
            return
        }
        _ = try await services.keys.update(
            in: vault, name: seed.name, version: nil,
            properties: .init(keyOps: opsChanged ? seed.ops : nil, attributes: changes?.attributes ?? .init(), tags: changes?.tags ?? nil))
        report.changed.append(label)
    }

    /// The private key a seed gives (JWK or PEM), if any.
    static func material(of seed: KeySeed) throws -> KeyMaterial? {
        if let file = seed.pemFile {
            throw CoffreError.badParameter(
                "The key \(seed.name) names the file \(file): files are read by `coffre vault import` and `coffre serve --seed`.")
        }
        if let jwk = seed.jwk { return try KeyService.crypto { try KeyMaterial(importing: jwk) } }
        guard let pem = seed.pem else { return nil }
        guard let der = try CertificateService.library({ try CertificateBundle(pem: pem).privateKeyPKCS8DER }) else {
            throw CoffreError.badParameter("The pem of key \(seed.name) holds no private key.")
        }
        return try KeyService.crypto { try KeyMaterial(pkcs8DER: der) }
    }

    /// What to generate: the seed's type and size or curve (its current key's when the seed names none).
    static func spec(of seed: KeySeed, current: KeyVersion?) throws -> KeySpec {
        guard let typeName = seed.kty ?? current?.keyType.rawValue, let type = KeyType(rawValue: typeName) else {
            throw CoffreError.badParameter("The key \(seed.name) needs a kty (RSA, EC, oct, or their -HSM forms), a jwk or a pem.")
        }
        let curve = try seed.curve.map { name in
            guard let curve = CurveName(rawValue: name) else {
                throw CoffreError.badParameter("'\(name)' is not a curve (P-256, P-256K, P-384, P-521).")
            }
            return curve
        }
        return KeySpec(type: type, size: seed.size, curve: curve)
    }

    /// Whether an existing version already is what `spec` asks for.
    static func matches(_ spec: KeySpec, _ version: KeyVersion) -> Bool {
        version.keyType == spec.type && (spec.size == nil || spec.size == version.size) && (spec.curve == nil || spec.curve == version.curve)
    }

    private func load(_ seed: CertificateSeed, in vault: VaultName, _ services: Services, _ report: inout SeedReport) async throws {
        let label = "certificate/\(seed.name)"
        let current = try await services.certificates.store.latest(in: vault, name: ObjectName(seed.name, kind: .certificate))
        let properties = CertificateService.Properties(enabled: seed.enabled, tags: seed.tags)
        if let file = seed.file {
            throw CoffreError.badParameter(
                "The certificate \(seed.name) names the file \(file): files are read by `coffre vault import` and `coffre serve --seed`.")
        }
        if let value = seed.pfx ?? seed.pem {
            let bundle = try CertificateService.library {
                try CertificateBundle(importValue: value, password: seed.password, preservingOrder: false)
            }
            if current?.record.cer != bundle.certificates.first.map({ Base64.standardEncoded($0) }) {
                _ = try await services.certificates.importCertificate(
                    in: vault, name: seed.name, value: value, password: seed.password, policy: seed.policy, properties: properties)
                if current == nil { report.created.append(label) } else { report.changed.append(label) }
                return
            }
        } else if current == nil {
            guard let policy = seed.policy else {
                throw CoffreError.badParameter("The certificate \(seed.name) needs a policy, a pfx, a pem or a file.")
            }
            _ = try await services.certificates.create(in: vault, name: seed.name, policy: policy, properties: properties)
            report.created.append(label)
            return
        }
        guard let current else { return }
        guard let changes = seed.changes(from: current.record.attributes, tags: current.record.tags) else {
            report.unchanged.append(label)
            return
        }
        _ = try await services.certificates.update(
            in: vault, name: seed.name, version: nil, enabled: changes.attributes.enabled, tags: changes.tags ?? nil, policy: nil)
        report.changed.append(label)
    }

    // MARK: - Export

    /// The vault as a seed: settings, access policies, role assignments, and the latest version of each secret, key and
    /// certificate (those backing a certificate come with it). Values and private keys only with `includeValues`;
    /// without, keys are their generation spec (with the public JWK for reference) and certificates their policy.
    public func export(_ name: VaultName, includeValues: Bool) async throws -> VaultSeed {
        let services = Services(storage, seeding: self)
        let vault = try await services.vaults.get(name)
        var seed = VaultSeed(
            name: name.value, retentionDays: vault.retentionDays, purgeProtection: vault.purgeProtection, rbacAuthorization: vault.rbacAuthorization)
        seed.accessPolicies = vault.accessPolicies.map { policy in
            AccessPolicySeed(
                objectId: policy.objectId, tenantId: policy.tenantId == tenantId ? nil : policy.tenantId,
                permissions: Dictionary(uniqueKeysWithValues: policy.permissions.map { ($0.key.rawValue, $0.value.sorted()) }))
        }
        seed.roleAssignments = try await services.roles.list(in: name).map {
            RoleAssignmentSeed(role: $0.role?.name ?? $0.roleId, assignee: $0.principalId, scope: $0.scope.description)
        }
        seed.secrets = []
        for head in try await Self.all({ try await services.secrets.store.list(in: name, after: $0, limit: 100) }) where head.summary.managed != true
        {
            guard let latest = try await services.secrets.store.latest(in: name, name: ObjectName(head.name, kind: .secret)) else { continue }
            let record = latest.record
            seed.secrets?.append(
                SecretSeed(
                    name: latest.name, value: includeValues ? record.value : nil, contentType: record.contentType, enabled: record.attributes.enabled,
                    notBefore: record.attributes.notBefore.map(SeedTime.init), expires: record.attributes.expires.map(SeedTime.init),
                    tags: record.tags))
        }
        seed.keys = []
        for head in try await Self.all({ try await services.keys.store.list(in: name, after: $0, limit: 100) }) where head.summary.managed != true {
            guard let latest = try await services.keys.store.latest(in: name, name: ObjectName(head.name, kind: .key)) else { continue }
            let record = latest.record
            var key = KeySeed(name: latest.name, kty: record.keyType.rawValue, size: record.size, curve: record.curve?.rawValue, ops: record.keyOps)
            // A token key's private part never leaves the token: its export carries the public key, as without values.
            if includeValues, case .software(let material) = try services.keys.custodyKey(of: latest, in: name) {
                key.jwk = material.privateJWK()
            } else {
                key.publicJwk = record.publicKey
            }
            key.enabled = record.attributes.enabled
            key.notBefore = record.attributes.notBefore.map(SeedTime.init)
            key.expires = record.attributes.expires.map(SeedTime.init)
            key.tags = record.tags
            seed.keys?.append(key)
        }
        seed.certificates = []
        for head in try await Self.all({ try await services.certificates.store.list(in: name, after: $0, limit: 100) }) {
            let (certificate, policy) = try await services.certificates.get(in: name, name: head.name, version: nil)
            var exported = CertificateSeed(name: certificate.name, policy: policy.map(Self.withoutDates))
            if includeValues, let secret = try await services.secrets.store.latest(in: name, name: ObjectName(head.name, kind: .secret)) {
                if secret.record.contentType == CertificatePolicy.pem {
                    exported.pem = secret.record.value
                } else {
                    exported.pfx = secret.record.value
                }
            }
            exported.enabled = certificate.record.attributes.enabled
            exported.tags = certificate.record.tags
            seed.certificates?.append(exported)
        }
        return seed
    }

    /// A policy as a seed carries it: without the dates the server stamps.
    static func withoutDates(_ policy: CertificatePolicy) -> CertificatePolicy {
        var policy = policy
        (policy.created, policy.updated) = (nil, nil)
        return policy
    }

    /// Every item of a paged listing.
    static func all<Item: Sendable>(_ page: (String?) async throws -> Page<Item>) async throws -> [Item] {
        var items: [Item] = []
        var cursor: String?
        repeat {
            let next = try await page(cursor)
            items += next.items
            cursor = next.next
        } while cursor != nil
        return items
    }
}

extension VersionedStore {
    /// The latest version of a live object (disabled ones too), or nil when there is none.
    func latest(in vault: VaultName, name: ObjectName) async throws -> Versioned<Record>? {
        do {
            return try await get(in: vault, name: name, version: nil)
        } catch CoffreError.notFound {
            return nil
        }
    }
}
