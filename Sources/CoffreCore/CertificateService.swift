import CoffreCertificates
import CoffreCrypto
import CoffreKeyCustody
import CoffreModel
import CoffreStorage
import Foundation

/// The Certificates API. Each certificate version is composed of three objects with one name and one version id: the
/// certificate, a managed key (the private key, with key_ops from the key usage) and a managed secret (the PFX or PEM,
/// with the private key when the policy is exportable). All three are written, deleted, recovered and purged together,
/// in one transaction.
public struct CertificateService: Sendable {
    public typealias Item = ObjectHead<CertificateVersion.Summary>

    let store: VersionedStore<CertificateVersion>
    let keys: KeyService
    let secrets: SecretService
    let storage: any StorageBackend
    let clock: any WallClock
    let backups: BackupCodec
    /// The vault's certificate operations (`/certificates/{name}/pending`).
    public let operations: CertificateOperations
    /// The vault's certificate issuers (`/certificates/issuers`).
    public let issuers: CertificateIssuers
    /// The vault's certificate contacts (`/certificates/contacts`).
    public let contacts: CertificateContacts
    /// Coffre's own CA, which issues platform-managed certificates (none: they are refused).
    let platformAuthority: PlatformAuthority?

    /// A CA certificate and its private key.
    public struct PlatformAuthority: Sendable {
        let certificateDER: [UInt8]
        let key: KeyMaterial

        public init(certificateDER: [UInt8], privateKeyPKCS8: [UInt8]) throws {
            self.certificateDER = certificateDER
            self.key = try KeyMaterial(pkcs8DER: privateKeyPKCS8)
        }
    }

    static let policyCollection = "certificate-policy"

    public init(
        storage: any StorageBackend, clock: any WallClock, backups: BackupCodec, keys: KeyService, secrets: SecretService,
        platformAuthority: PlatformAuthority? = nil
    ) {
        self.platformAuthority = platformAuthority
        let store = VersionedStore<CertificateVersion>(
            storage: storage, kind: .certificate,
            companions: [
                Self.policyCollection, CertificateOperations.collection, "certificate-lifetime-autorenew", "certificate-lifetime-emailcontacts",
            ])
        self.store = store
        self.keys = keys
        self.secrets = secrets
        self.storage = storage
        self.clock = clock
        self.backups = backups
        self.operations = CertificateOperations(storage: storage, store: store, keys: keys)
        self.issuers = CertificateIssuers(storage: storage, clock: clock)
        self.contacts = CertificateContacts(storage: storage)
    }

    func policyKey(_ vault: VaultName, _ name: ObjectName) -> String { store.companionKey(Self.policyCollection, vault, name) }

    /// What a create, import or merge sets besides the certificate itself.
    public struct Properties: Sendable {
        public var enabled: Bool?
        public var tags: [String: String]?
        public var preserveCertOrder: Bool?

        public init(enabled: Bool? = nil, tags: [String: String]? = nil, preserveCertOrder: Bool? = nil) {
            self.enabled = enabled
            self.tags = tags
            self.preserveCertOrder = preserveCertOrder
        }
    }

    // MARK: - Create, import, merge

    /// Starts a certificate from a policy. `Self` and Coffre issuers complete at once; `Unknown` leaves the operation
    /// in progress with a CSR for `merge`; other providers fail (Coffre reaches no external CA).
    public func create(in vault: VaultName, name: String, policy given: CertificatePolicy, properties: Properties) async throws
        -> PendingCertificate
    {
        let name = try ObjectName(name, kind: .certificate)
        if let tags = properties.tags { try Tags.validate(tags) }
        try await checkNameIsFree(vault, name)
        let existing = try await storage.read(CertificatePolicy.self, at: policyKey(vault, name))
        var merged = existing?.merged(with: given) ?? given
        // A platform-managed certificate may come without names: it is then named after itself.
        if merged.platformManaged != nil, (merged.subject ?? "").isEmpty, merged.subjectAlternativeNames == nil {
            merged.subject = "CN=\(name.display)"
        }
        return try await issue(in: vault, name: name, policy: try placingKey(merged).resolved(), properties: properties)
    }

    /// Issues a version from `policy`: the certificate for Self and Coffre issuers, a pending operation otherwise;
    /// `alongside` runs first in the transaction that writes it (a renewal's claim).
    func issue(
        in vault: VaultName, name: ObjectName, policy: CertificatePolicy, properties: Properties,
        alongside: (@Sendable (any StorageTransaction) async throws -> Void)? = nil
    ) async throws -> PendingCertificate {
        let version = VersionID.from(randomBytes: SecureRandom.bytes(16))
        let (key, isNew) = try await certificateKey(for: policy, in: vault, name: name, version: version)
        return try await keys.destroyingOnFailure(isNew ? [key] : []) {
            try await issue(in: vault, name: name, version: version, key: key, policy: policy, properties: properties, alongside: alongside)
        }
    }

    private func issue(
        in vault: VaultName, name: ObjectName, version: String, key: CustodyKey, policy: CertificatePolicy, properties: Properties,
        alongside: (@Sendable (any StorageTransaction) async throws -> Void)?
    ) async throws -> PendingCertificate {
        let spec = try policy.x509Spec
        let signer = VaultKeySigner(key: key, custody: keys.custody)
        let requestId = Hex.encode(SecureRandom.bytes(16))
        let csr = try await Self.signing { try await CertificateBuilder.makeCSR(spec, key: signer) }
        var pending = PendingCertificate(
            requestId: requestId, issuerName: policy.issuerName ?? "Unknown", certificateType: policy.certificateType,
            certificateTransparency: policy.certificateTransparency, csr: Base64.standardEncoded(csr), enabled: properties.enabled,
            tags: properties.tags, preserveCertOrder: properties.preserveCertOrder)

        let chain: [[UInt8]]?
        switch pending.issuerName.lowercased() {
        case _ where policy.platformManaged != nil:
            chain = try await issuedByPlatform(spec, signer: signer, in: vault)
        case "self":
            let now = Date(timeIntervalSince1970: TimeInterval(clock.now(in: vault)))
            // A policy whose key may sign certificates (keyCertSign) makes a CA: the root of a Coffre issuer.
            chain = [
                try await Self.signing {
                    spec.keyUsage.contains(.keyCertSign)
                        ? try await CertificateBuilder.makeCA(spec, key: signer, now: now)
                        : try await CertificateBuilder.makeSelfSigned(spec, key: signer, now: now)
                }
            ]
        case "unknown":
            chain = nil
            try pending.awaitMerge(keeping: Base64.standardEncoded(key.storedRepresentation), version: version)
        default:
            chain = try await issueWithIssuer(pending.issuerName, in: vault, spec: spec, signer: signer, pending: &pending)
        }
        let finalPending = pending
        return try await storage.transaction { transaction in
            try await alongside?(transaction)
            try await operations.checkNoneInProgress(vault, name, transaction)
            var pending = finalPending
            if let chain {
                _ = try await writeVersion(
                    in: vault, name: name, version: version, key: key, chain: chain, policy: policy, properties: properties,
                    transaction: transaction)
                try pending.complete(version: version)
            }
            try await transaction.write(
                policy.stamped(at: clock.now(in: vault), previous: try await transaction.read(CertificatePolicy.self, at: policyKey(vault, name))),
                at: policyKey(vault, name))
            try await transaction.write(pending, at: operations.key(vault, name))
            return pending
        }
    }

    /// A platform-managed certificate, signed by Coffre's own CA.
    private func issuedByPlatform(_ spec: CertificatePolicySpec, signer: VaultKeySigner, in vault: VaultName) async throws -> [[UInt8]] {
        guard let authority = platformAuthority else {
            throw CoffreError.badParameter("This server issues no platform-managed certificates.")
        }
        let leaf = try await Self.signing {
            let issuer = try CertificateIssuer(
                certificateDER: authority.certificateDER, key: VaultKeySigner(key: .software(authority.key), custody: keys.custody))
            return try await CertificateBuilder.issue(
                spec, subjectPublicKeyInfo: try signer.subjectPublicKeyInfoDER, issuer: issuer,
                now: Date(timeIntervalSince1970: TimeInterval(clock.now(in: vault))))
        }
        return [leaf, authority.certificateDER]
    }

    /// A Coffre issuer signs with the CA certificate it names; any other provider fails the operation.
    private func issueWithIssuer(
        _ issuerName: String, in vault: VaultName, spec: CertificatePolicySpec, signer: VaultKeySigner, pending: inout PendingCertificate
    ) async throws -> [[UInt8]]? {
        let issuer = try await issuers.get(in: vault, name: issuerName)
        guard issuer.enabled else {
            try pending.fail(code: "CertificateIssuerDisabled", message: "The issuer \(issuerName) is disabled.")
            return nil
        }
        guard issuer.isCoffre, let caName = issuer.accountId else {
            try pending.fail(
                code: "CertificateIssuerError",
                message: "Coffre cannot reach the \(issuer.provider) provider. Use the issuer Self, Unknown (then merge), or an issuer with "
                    + "provider Coffre whose account_id names a CA certificate in this vault.")
            return nil
        }
        let caObject = try ObjectName(caName, kind: .certificate)
        let ca = try await store.get(in: vault, name: caObject, version: nil)
        let caKey = try await keys.store.get(in: vault, name: ObjectName(caName, kind: .key), version: ca.record.version)
        guard let caCer = Base64.decode(ca.record.cer) else { throw StorageError.corrupt("the CA certificate \(caName) cannot be read") }
        let caSigner = VaultKeySigner(key: try keys.custodyKey(of: caKey, in: vault), custody: keys.custody)
        let leaf = try await Self.signing {
            let issuer = try CertificateIssuer(certificateDER: caCer, key: caSigner)
            let now = Date(timeIntervalSince1970: TimeInterval(clock.now(in: vault)))
            return spec.keyUsage.contains(.keyCertSign)
                ? try await CertificateBuilder.makeCA(spec, key: signer, issuer: issuer, maxPathLength: 0, now: now)
                : try await CertificateBuilder.issue(spec, subjectPublicKeyInfo: try signer.subjectPublicKeyInfoDER, issuer: issuer, now: now)
        }
        return [leaf, caCer] + ca.record.chain.compactMap { Base64.decode($0) }
    }

    /// The key of a new version (named after `version` in a token): the previous version's when `reuse_key` is set, else
    /// a new one in the custody its type asks for. `isNew` says whether it was made now (and is to be destroyed if the
    /// version is not written).
    private func certificateKey(for policy: CertificatePolicy, in vault: VaultName, name: ObjectName, version: String) async throws
        -> (key: CustodyKey, isNew: Bool)
    {
        if policy.reuseKey == true, let head = try await store.head(in: vault, name: name),
            let previous = try await Self.leg(
                .key, { try await keys.store.get(in: vault, name: ObjectName(name.display, kind: .key), version: head.latestVersion) })
        {
            return (try keys.custodyKey(of: previous, in: vault), false)
        }
        let type = KeyType(rawValue: policy.keyType ?? "RSA") ?? .rsa
        let spec = KeySpec(type: type, size: type.family == .rsa ? policy.keySize : nil, curve: policy.curve.flatMap(CurveName.init(rawValue:)))
        let key = try await KeyService.custodial {
            try await keys.custody.generate(
                spec, policy: KeyPolicy(exportable: policy.exportable ?? true), label: KeyService.label(vault, keyName(name), version))
        }
        return (key, true)
    }

    /// The name of a certificate's key (and secret).
    private func keyName(_ name: ObjectName) -> ObjectName {
        (try? ObjectName(name.display, kind: .key)) ?? name
    }

    /// With a PKCS#11 module, an `-HSM` certificate key lives in the token and its private key never leaves it, so the
    /// certificate's secret cannot carry it: such a policy is not exportable (unset means false; true is refused).
    func placingKey(_ policy: CertificatePolicy) throws -> CertificatePolicy {
        guard let type = policy.keyType.flatMap(KeyType.init(rawValue:)), keys.custody.keepsInHardware(type) else { return policy }
        guard policy.exportable != true else {
            throw CoffreError.badParameter(
                "A certificate with an \(type.rawValue) key is not exportable: its private key stays in the HSM. Set exportable to false.")
        }
        var placed = policy
        placed.exportable = false
        return placed
    }

    /// Imports a PFX (base64) or PEM (key and chain).
    public func importCertificate(
        in vault: VaultName, name: String, value: String, password: String?, policy given: CertificatePolicy?, properties: Properties
    ) async throws -> (certificate: Versioned<CertificateVersion>, policy: CertificatePolicy?) {
        let name = try ObjectName(name, kind: .certificate)
        if let tags = properties.tags { try Tags.validate(tags) }
        try await checkNameIsFree(vault, name)
        // PEM arrives as text, or (from the SDKs, which base64 whatever bytes they are given) as base64 of the text.
        var value = value
        if !value.contains("-----BEGIN"), let decoded = Base64.decode(value),
            let text = String(bytes: decoded, encoding: .utf8), text.contains("-----BEGIN")
        {
            value = text
        }
        let isPEM = value.contains("-----BEGIN")
        let bundle = try Self.library {
            try CertificateBundle(importValue: value, password: password, preservingOrder: properties.preserveCertOrder ?? false)
        }
        guard let leaf = bundle.certificates.first else { throw CoffreError.badParameter("The imported value holds no certificate.") }
        guard let pkcs8 = bundle.privateKeyPKCS8DER else {
            throw CoffreError.badParameter("The imported value holds no private key: import a PFX or PEM with the certificate's key.")
        }
        var material = try KeyService.crypto { try KeyMaterial(pkcs8DER: pkcs8) }
        let info = try Self.library { try CertificateInfo(der: leaf) }
        let contentType = given?.contentType ?? (isPEM ? CertificatePolicy.pem : CertificatePolicy.pkcs12)
        let policy = try placingKey(CertificatePolicy.forImport(info, material: material, given: given, contentType: contentType))
            .resolvedForImport()
        if let type = policy.keyType.flatMap(KeyType.init(rawValue:)), type.isHSM, type.family == material.keyType.family {
            material = try KeyService.crypto { try material.withKeyType(type) }
        }
        let version = VersionID.from(randomBytes: SecureRandom.bytes(16))
        let key = try await KeyService.custodial { [material] in
            try await keys.custody.importKey(
                material, policy: KeyPolicy(exportable: policy.exportable ?? true), label: KeyService.label(vault, keyName(name), version))
        }
        return try await keys.destroyingOnFailure([key]) {
            try await storage.transaction { transaction in
                try await operations.checkNoneInProgress(vault, name, transaction)
                let written = try await writeVersion(
                    in: vault, name: name, version: version, key: key, chain: bundle.certificates, policy: policy,
                    properties: properties, transaction: transaction)
                let stamped = policy.stamped(
                    at: clock.now(in: vault), previous: try await transaction.read(CertificatePolicy.self, at: policyKey(vault, name)))
                try await transaction.write(stamped, at: policyKey(vault, name))
                return (written, stamped)
            }
        }
    }

    /// Completes an `Unknown`-issuer operation with the chain signed elsewhere; its leaf must carry the pending key.
    public func merge(in vault: VaultName, name: String, x5c: [String], properties: Properties) async throws
        -> (certificate: Versioned<CertificateVersion>, policy: CertificatePolicy?)
    {
        let name = try ObjectName(name, kind: .certificate)
        guard let pending = try await storage.read(PendingCertificate.self, at: operations.key(vault, name)) else {
            throw CoffreError.pendingCertificateNotFound(name.display)
        }
        guard pending.isInProgress, let stored = pending.material.flatMap({ Base64.decode($0) }) else {
            throw CoffreError.badParameter("There is no certificate operation in progress to merge into for \(name.display).")
        }
        guard pending.issuerName.lowercased() == "unknown" else {
            throw CoffreError.forbidden(
                .notAllowed,
                message: "Merge is forbidden on pending object created with issuer : \(pending.issuerName) while it is in progress.")
        }
        let key = try CustodyKey(storedRepresentation: stored)
        let spki = try VaultKeySigner(key: key, custody: keys.custody).subjectPublicKeyInfoDER
        let chain = try Self.library {
            try CertificateChain.orderedLeafFirst(CertificateChain.certificates(x5c: x5c), leafPublicKey: spki)
        }
        guard let policy = try await storage.read(CertificatePolicy.self, at: policyKey(vault, name)) else {
            throw CoffreError.pendingCertificateNotFound(name.display)
        }
        let merged = Properties(
            enabled: properties.enabled ?? pending.enabled, tags: properties.tags ?? pending.tags,
            preserveCertOrder: pending.preserveCertOrder)
        return try await storage.transaction { transaction in
            guard var current = try await transaction.read(PendingCertificate.self, at: operations.key(vault, name)),
                current.requestId == pending.requestId, current.isInProgress
            else { throw CoffreError.pendingCertificateNotFound(name.display) }
            let version = current.keyVersion ?? VersionID.from(randomBytes: SecureRandom.bytes(16))
            let written = try await writeVersion(
                in: vault, name: name, version: version, key: key, chain: chain, policy: policy, properties: merged,
                transaction: transaction)
            try current.complete(version: version)
            try await transaction.write(current, at: operations.key(vault, name))
            return (written, policy)
        }
    }

    /// Writes the certificate, its managed key and its managed secret under one version id.
    func writeVersion(
        in vault: VaultName, name: ObjectName, version: String, key: CustodyKey, chain: [[UInt8]], policy: CertificatePolicy,
        properties: Properties, transaction: any StorageTransaction
    ) async throws -> Versioned<CertificateVersion> {
        guard let leaf = chain.first else { throw CoffreError.badParameter("A certificate chain needs its leaf certificate.") }
        let info = try Self.library { try CertificateInfo(der: leaf) }
        let now = clock.now(in: vault)
        let attributes = ObjectAttributes(
            enabled: properties.enabled ?? policy.enabled ?? true, notBefore: Int64(info.notBefore.timeIntervalSince1970),
            expires: Int64(info.notAfter.timeIntervalSince1970), created: now, updated: now)
        let contentType = policy.contentType ?? CertificatePolicy.pkcs12
        let exportable = policy.exportable ?? true
        let bundle = CertificateBundle(privateKeyPKCS8DER: exportable ? try Self.pkcs8(of: key) : nil, certificates: chain)
        let secretValue =
            contentType == CertificatePolicy.pem ? bundle.pem() : Base64.standardEncoded(try Self.library { try bundle.pkcs12(password: nil) })
        let supported = key.supportedAlgorithms.operations
        let keyOps = policy.keyOperations.filter { supported.contains($0) }

        let written = try await store.addVersion(in: vault, name: name, version: version, transaction: transaction) { version, _ in
            CertificateVersion(
                version: version, cer: Base64.standardEncoded(leaf), chain: chain.dropFirst().map { Base64.standardEncoded($0) },
                x5t: info.x5t, attributes: attributes, tags: properties.tags, contentType: contentType,
                preserveCertOrder: properties.preserveCertOrder)
        }
        _ = try await keys.store.addVersion(in: vault, name: ObjectName(name.display, kind: .key), version: version, transaction: transaction) {
            version, existing in
            guard existing == nil || existing?.summary.managed == true else { throw CoffreError.conflict(Self.nameTaken(.key, name)) }
            return KeyVersion(
                version: version, keyType: key.keyType, material: Base64.standardEncoded(key.storedRepresentation),
                publicKey: key.publicJWK(), keyOps: keyOps, attributes: attributes, exportable: exportable, tags: nil,
                releasePolicy: nil, managed: true, size: key.keyType.family == .rsa ? key.sizeInBits : nil, curve: key.curve)
        }
        _ = try await secrets.store.addVersion(
            in: vault, name: ObjectName(name.display, kind: .secret), version: version, transaction: transaction
        ) { version, existing in
            guard existing == nil || existing?.summary.managed == true else { throw CoffreError.conflict(Self.nameTaken(.secret, name)) }
            return SecretVersion(
                version: version, value: secretValue, contentType: contentType, attributes: attributes, tags: nil,
                keyPath: "/keys/\(name.display)/\(version)", managed: true)
        }
        return written
    }

    /// The PKCS#8 of an exportable certificate's key, for its secret: only a software key has one to give.
    static func pkcs8(of key: CustodyKey) throws -> [UInt8] {
        guard case .software(let material) = key else {
            throw CoffreError.badParameter("The certificate's key is in the HSM: its secret cannot carry the private key.")
        }
        return try material.pkcs8DER
    }

    static func nameTaken(_ kind: ObjectKind, _ name: ObjectName) -> String {
        "A \(kind.noun) named \(name.display) exists and is not managed by a certificate: a certificate needs its name for its \(kind.noun)."
    }

    /// A soft-deleted certificate holds its name; so do soft-deleted keys and secrets of that name.
    private func checkNameIsFree(_ vault: VaultName, _ name: ObjectName) async throws {
        if try await storage.get(store.deletedKey(vault, name)) != nil { throw CoffreError.deletedButRecoverable(.certificate, name: name.display) }
        for kind in [ObjectKind.key, .secret] where try await storage.get("v/\(vault)/deleted-\(kind.rawValue)/\(name.key)") != nil {
            throw CoffreError.deletedButRecoverable(kind, name: name.display)
        }
    }

    // MARK: - Reading and updating

    public func get(in vault: VaultName, name: String, version: String?) async throws -> (
        certificate: Versioned<CertificateVersion>, policy: CertificatePolicy?
    ) {
        let objectName = try ObjectName(name, kind: .certificate)
        let certificate = try await store.get(in: vault, name: objectName, version: version)
        return (certificate, try await storage.read(CertificatePolicy.self, at: policyKey(vault, objectName)))
    }

    /// A list entry: a certificate, or (with `includePending`) a name that only has an operation.
    public enum Listed: Sendable {
        case certificate(Item)
        case pendingOnly(name: String)
    }

    public func list(in vault: VaultName, includePending: Bool, after cursor: String?, limit: Int) async throws -> Page<Listed> {
        guard includePending else {
            let heads = try await store.list(in: vault, after: cursor, limit: limit)
            return Page(items: heads.items.map(Listed.certificate), next: heads.next)
        }
        // Merge certificates with the names that only have a pending operation, in name order: take one more than a
        // page from each, so that whatever is left over says whether another page follows.
        let heads = try await store.list(in: vault, after: cursor, limit: limit + 1).items
        let prefix = "v/\(vault)/\(CertificateOperations.collection)/"
        let pendingNames = try await storage.scan(prefix: prefix, after: cursor.map { prefix + $0 }, limit: limit + 1)
            .map { String($0.key.dropFirst(prefix.count)) }
        var merged: [(key: String, item: Listed)] = heads.map { ($0.name.lowercased(), .certificate($0)) }
        for name in pendingNames where !merged.contains(where: { $0.key == name }) {
            if try await store.head(in: vault, name: ObjectName(name, kind: .certificate)) == nil {
                merged.append((name, .pendingOnly(name: name)))
            }
        }
        merged.sort { $0.key < $1.key }
        let kept = merged.prefix(limit)
        return Page(items: kept.map(\.item), next: merged.count > limit ? kept.last?.key : nil)
    }

    public func versions(in vault: VaultName, name: String, after cursor: String?, limit: Int) async throws -> Page<Versioned<CertificateVersion>> {
        try await store.versions(in: vault, name: ObjectName(name, kind: .certificate), after: cursor, limit: limit)
    }

    /// Changes a version's enabled flag and tags (mirrored onto its key and secret), and the certificate's policy.
    public func update(
        in vault: VaultName, name: String, version: String?, enabled: Bool?, tags: [String: String]?, policy: CertificatePolicy?
    ) async throws -> (certificate: Versioned<CertificateVersion>, policy: CertificatePolicy?) {
        let objectName = try ObjectName(name, kind: .certificate)
        if let tags { try Tags.validate(tags) }
        let now = clock.now(in: vault)
        return try await storage.transaction { transaction in
            let updated = try await store.update(in: vault, name: objectName, version: version, transaction: transaction) { record in
                if let enabled { record.attributes.enabled = enabled }
                if let tags { record.tags = tags }
                record.attributes.updated = now
            }
            let target = updated.record.version
            if let enabled {
                try await Self.leg(.key) {
                    try await keys.store.update(in: vault, name: ObjectName(name, kind: .key), version: target, transaction: transaction) {
                        $0.attributes.enabled = enabled
                        $0.attributes.updated = now
                    }
                }
                try await Self.leg(.secret) {
                    try await secrets.store.update(in: vault, name: ObjectName(name, kind: .secret), version: target, transaction: transaction) {
                        $0.attributes.enabled = enabled
                        $0.attributes.updated = now
                    }
                }
            }
            var stored = try await transaction.read(CertificatePolicy.self, at: policyKey(vault, objectName))
            if let policy, let current = stored {
                stored = try current.merged(with: policy).resolvedForUpdate().stamped(at: now, previous: current)
                try await transaction.write(stored, at: policyKey(vault, objectName))
            }
            return (updated, stored)
        }
    }

    public func policy(in vault: VaultName, name: String) async throws -> CertificatePolicy {
        let objectName = try ObjectName(name, kind: .certificate)
        guard let policy = try await storage.read(CertificatePolicy.self, at: policyKey(vault, objectName)) else {
            throw CoffreError.notFound(.certificate, name: objectName.display)
        }
        return policy
    }

    public func updatePolicy(in vault: VaultName, name: String, changes: CertificatePolicy) async throws -> CertificatePolicy {
        let objectName = try ObjectName(name, kind: .certificate)
        let key = policyKey(vault, objectName)
        let now = clock.now(in: vault)
        return try await storage.transaction { transaction in
            guard let current = try await transaction.read(CertificatePolicy.self, at: key) else {
                throw CoffreError.notFound(.certificate, name: objectName.display)
            }
            let updated = try current.merged(with: changes).resolvedForUpdate().stamped(at: now, previous: current)
            try await transaction.write(updated, at: key)
            return updated
        }
    }

    // MARK: - Delete, recover, purge

    public func delete(in vault: VaultRecord, name: String) async throws -> (certificate: Versioned<CertificateVersion>, policy: CertificatePolicy?) {
        let now = clock.now(in: vault.name)
        let deletion = Deletion(deletedDate: now, scheduledPurgeDate: now + Int64(vault.retentionDays) * Seconds.day)
        let objectName = try ObjectName(name, kind: .certificate)
        return try await storage.transaction { transaction in
            let deleted = try await store.delete(in: vault.name, name: objectName, deletion: deletion, transaction: transaction)
            try await Self.leg(.key) {
                try await keys.store.delete(in: vault.name, name: ObjectName(name, kind: .key), deletion: deletion, transaction: transaction)
            }
            try await Self.leg(.secret) {
                try await secrets.store.delete(in: vault.name, name: ObjectName(name, kind: .secret), deletion: deletion, transaction: transaction)
            }
            return (deleted, try await transaction.read(CertificatePolicy.self, at: policyKey(vault.name, objectName)))
        }
    }

    public func deleted(in vault: VaultName, name: String) async throws -> (certificate: Versioned<CertificateVersion>, policy: CertificatePolicy?) {
        let objectName = try ObjectName(name, kind: .certificate)
        return (
            try await store.deleted(in: vault, name: objectName), try await storage.read(CertificatePolicy.self, at: policyKey(vault, objectName))
        )
    }

    public func listDeleted(in vault: VaultName, after cursor: String?, limit: Int) async throws -> Page<Item> {
        try await store.listDeleted(in: vault, after: cursor, limit: limit)
    }

    public func recover(in vault: VaultName, name: String) async throws -> (certificate: Versioned<CertificateVersion>, policy: CertificatePolicy?) {
        let objectName = try ObjectName(name, kind: .certificate)
        return try await storage.transaction { transaction in
            let recovered = try await store.recover(in: vault, name: objectName, transaction: transaction)
            try await Self.leg(.key) { try await keys.store.recover(in: vault, name: ObjectName(name, kind: .key), transaction: transaction) }
            try await Self.leg(.secret) {
                try await secrets.store.recover(in: vault, name: ObjectName(name, kind: .secret), transaction: transaction)
            }
            return (recovered, try await transaction.read(CertificatePolicy.self, at: policyKey(vault, objectName)))
        }
    }

    public func purge(in vault: VaultRecord, name: String) async throws {
        guard !vault.purgeProtection else { throw CoffreError.purgeProtected(vault: vault.name.value) }
        let objectName = try ObjectName(name, kind: .certificate)
        let erased = try await storage.transaction { transaction in
            let erased = try await erasedKeys(of: objectName, in: vault.name, transaction: transaction)
            try await store.purge(in: vault.name, name: objectName, transaction: transaction)
            try await Self.leg(.key) { try await keys.store.purge(in: vault.name, name: ObjectName(name, kind: .key), transaction: transaction) }
            try await Self.leg(.secret) {
                try await secrets.store.purge(in: vault.name, name: ObjectName(name, kind: .secret), transaction: transaction)
            }
            return erased
        }
        await keys.destroyKeys(stored: erased)
    }

    func purgeIfDue(in vault: VaultName, name: String, now: Int64) async throws -> Bool {
        let objectName = try ObjectName(name, kind: .certificate)
        let erased = try await storage.transaction { transaction -> [String]? in
            let erased = try await erasedKeys(of: objectName, in: vault, transaction: transaction)
            guard try await store.purgeIfDue(in: vault, name: objectName, now: now, transaction: transaction) else { return nil }
            _ = try await keys.store.purgeIfDue(in: vault, name: ObjectName(name, kind: .key), now: now, transaction: transaction)
            _ = try await secrets.store.purgeIfDue(in: vault, name: ObjectName(name, kind: .secret), now: now, transaction: transaction)
            return erased
        }
        guard let erased else { return false }
        await keys.destroyKeys(stored: erased)
        return true
    }

    /// The stored keys a purge of the certificate erases: its key's versions, and its pending operation's key.
    private func erasedKeys(of name: ObjectName, in vault: VaultName, transaction: any StorageTransaction) async throws -> [String] {
        let versions = try await keys.versions(of: ObjectName(name.display, kind: .key), in: vault, transaction: transaction)
        let pending = try await transaction.read(PendingCertificate.self, at: operations.key(vault, name))
        return versions.map(\.material) + [pending?.material].compactMap { $0 }
    }

    // MARK: - Backup and restore

    struct Backup: Codable {
        var certificate: Item
        var certificates: [CertificateVersion]
        var key: KeyService.Item
        var keys: [KeyVersion]
        var secret: SecretService.Item
        var secrets: [SecretVersion]
        var policy: CertificatePolicy?
    }

    public func backup(in vault: VaultName, name: String) async throws -> String {
        let objectName = try ObjectName(name, kind: .certificate)
        let certificate = try await store.export(in: vault, name: objectName)
        let key = try await keys.store.export(in: vault, name: ObjectName(name, kind: .key))
        let secret = try await secrets.store.export(in: vault, name: ObjectName(name, kind: .secret))
        let policy = try await storage.read(CertificatePolicy.self, at: policyKey(vault, objectName))
        return try backups.seal(
            Backup(
                certificate: certificate.head, certificates: certificate.versions, key: key.head, keys: try await keys.backedUp(key.versions),
                secret: secret.head, secrets: secret.versions, policy: policy),
            kind: .certificate)
    }

    public func restore(in vault: VaultName, blob: String) async throws -> (certificate: Versioned<CertificateVersion>, policy: CertificatePolicy?) {
        let backup = try backups.open(blob, as: Backup.self, kind: .certificate)
        let name = try ObjectName(backup.certificate.name, kind: .certificate)
        if try await store.head(in: vault, name: name) != nil {
            throw CoffreError.conflict("Certificate \(name.display) already exists: a backup can only be restored under a free name.")
        }
        let (keyVersions, restored) = try await keys.restoredKeys(backup.keys, in: vault, name: ObjectName(name.display, kind: .key))
        return try await keys.destroyingOnFailure(restored) {
            try await storage.transaction { transaction in
                let result = try await store.restore(in: vault, head: backup.certificate, versions: backup.certificates, transaction: transaction)
                _ = try await keys.store.restore(in: vault, head: backup.key, versions: keyVersions, transaction: transaction)
                _ = try await secrets.store.restore(in: vault, head: backup.secret, versions: backup.secrets, transaction: transaction)
                if let policy = backup.policy { try await transaction.write(policy, at: policyKey(vault, name)) }
                return (result, backup.policy)
            }
        }
    }

    // MARK: - Helpers

    /// `change` on the certificate's key or secret leg (or a read of it), inside the certificate's transaction. A leg that is not there
    /// (`kind` not found, live or deleted) is left alone; every other failure, a storage error above all, fails the whole
    /// transaction: a swallowed error would let the certificate change without its key or secret.
    @discardableResult
    static func leg<T>(_ kind: ObjectKind, _ change: () async throws -> T) async throws -> T? {
        do {
            return try await change()
        } catch let error as CoffreError {
            switch error {
            case .notFound(kind, _), .deletedNotFound(kind, _), .versionNotFound(kind, _, _): return nil
            default: throw error
            }
        }
    }

    /// Runs a certificate-library call, turning its failures into 400 `BadParameter` with the library's message.
    static func library<T>(_ work: () throws -> T) throws -> T {
        do {
            return try work()
        } catch {
            throw libraryFailure(error)
        }
    }

    /// ``library(_:)`` for the builder's calls, which sign asynchronously (a vault key may sign in a hardware module).
    static func signing<T>(_ work: () async throws -> T) async throws -> T {
        do {
            return try await work()
        } catch {
            throw libraryFailure(error)
        }
    }

    /// A certificate-library or key-engine failure as Key Vault's 400 `BadParameter`; any other error as it is.
    private static func libraryFailure(_ error: any Error) -> any Error {
        switch error {
        case let failure as CertificateFailure: CoffreError.badParameter(failure.message)
        case let failure as CryptoFailure: KeyService.badParameter(failure)
        default: error
        }
    }

    /// Every certificate with a policy in a vault (for the lifecycle service).
    func policies(in vault: VaultName) async throws -> [(name: String, policy: CertificatePolicy)] {
        let prefix = "v/\(vault)/\(Self.policyCollection)/"
        return try await storage.readAll(CertificatePolicy.self, prefix: prefix).map { (String($0.key.dropFirst(prefix.count)), $0.record) }
    }
}

extension CertificatePolicy {
    func stamped(at now: Int64, previous: CertificatePolicy?) -> CertificatePolicy {
        var copy = self
        copy.created = previous?.created ?? now
        copy.updated = now
        return copy
    }

    /// Checks after a PATCH, keeping what import recorded when it cannot be resolved as for a new certificate.
    func resolvedForUpdate() throws -> CertificatePolicy { try resolved() }

    /// An imported certificate's policy may keep what its certificate has (for instance no subject but SANs).
    func resolvedForImport() throws -> CertificatePolicy {
        (try? resolved()) ?? self
    }
}
