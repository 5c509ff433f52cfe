import CoffreModel
import CoffreStorage

/// Where a certificate operation stands. It starts in progress; issuing completes or fails it, a merge completes it,
/// a cancellation cancels it; a finished operation never changes again.
public enum CertificateOperationStatus: String, Codable, Sendable {
    case inProgress
    case completed
    case failed
    case cancelled
}

/// A certificate operation (`/certificates/{name}/pending`): a state machine whose state is stored as it is. Its
/// status and what goes with it (details, error, target version, the key awaiting a merge) change only through the
/// transitions below, each allowed only while the operation is in progress.
public struct PendingCertificate: Codable, Sendable, Equatable {
    public let requestId: String
    public let issuerName: String
    public let certificateType: String?
    public let certificateTransparency: Bool?
    /// base64 DER PKCS#10.
    public let csr: String
    public private(set) var status: CertificateOperationStatus
    public private(set) var statusDetails: String?
    public private(set) var errorCode: String?
    public private(set) var errorMessage: String?
    public private(set) var cancellationRequested: Bool
    /// The version created when completed.
    public private(set) var targetVersion: String?
    /// The pending key's material (stored representation, base64), until it is merged.
    public private(set) var material: String?
    /// The version the merge will create, which the pending key's token object is named after.
    public private(set) var keyVersion: String?
    public let enabled: Bool?
    public let tags: [String: String]?
    public let preserveCertOrder: Bool?

    /// A new operation, in progress.
    init(
        requestId: String, issuerName: String, certificateType: String?, certificateTransparency: Bool?, csr: String, enabled: Bool?,
        tags: [String: String]?, preserveCertOrder: Bool?
    ) {
        self.requestId = requestId
        self.issuerName = issuerName
        self.certificateType = certificateType
        self.certificateTransparency = certificateTransparency
        self.csr = csr
        self.status = .inProgress
        self.cancellationRequested = false
        self.enabled = enabled
        self.tags = tags
        self.preserveCertOrder = preserveCertOrder
    }

    public var isInProgress: Bool { status == .inProgress }

    /// The request is signed elsewhere: the operation keeps its key until the signed chain is merged as `version`.
    mutating func awaitMerge(keeping material: String, version: String) throws {
        try checkInProgress("wait for a merge")
        self.material = material
        keyVersion = version
        statusDetails = "Pending certificate created. Please Perform Merge to complete the request."
    }

    /// The certificate was issued (or merged) as `version`.
    mutating func complete(version: String) throws {
        try checkInProgress("complete")
        status = .completed
        statusDetails = nil
        material = nil
        targetVersion = version
    }

    /// The issuer could not issue: Key Vault's error code and message.
    mutating func fail(code: String, message: String) throws {
        try checkInProgress("fail")
        status = .failed
        errorCode = code
        errorMessage = message
        material = nil
    }

    /// The client cancelled the operation.
    mutating func cancel() throws {
        try checkInProgress("be cancelled")
        status = .cancelled
        cancellationRequested = true
        statusDetails = "The certificate operation was cancelled."
        material = nil
    }

    private func checkInProgress(_ transition: String) throws {
        guard isInProgress else {
            throw CoffreError.badParameter("The certificate operation is \(status.rawValue): only an operation in progress can \(transition).")
        }
    }
}

/// The certificate operations of a vault: read, cancelled or deleted here; started, completed or failed by the
/// certificate service as it issues and merges.
public struct CertificateOperations: Sendable {
    let storage: any StorageBackend
    let store: VersionedStore<CertificateVersion>
    /// Destroys the key of an operation cancelled or deleted while it waited for a merge.
    let keys: KeyService

    /// The companion collection of certificates that holds their operations.
    static let collection = "certificate-pending"

    func key(_ vault: VaultName, _ name: ObjectName) -> String { store.companionKey(Self.collection, vault, name) }

    /// The certificate's operation; with a non-empty `requestId`, only if it is that operation.
    public func get(in vault: VaultName, name: String, requestId: String? = nil) async throws -> PendingCertificate {
        let name = try ObjectName(name, kind: .certificate)
        guard let pending = try await storage.read(PendingCertificate.self, at: key(vault, name)),
            requestId.map({ $0.isEmpty || $0 == pending.requestId }) ?? true
        else {
            throw CoffreError.pendingCertificateNotFound(name.display)
        }
        return pending
    }

    /// Cancels an operation in progress (its key is destroyed).
    public func cancel(in vault: VaultName, name: String) async throws -> PendingCertificate {
        let name = try ObjectName(name, kind: .certificate)
        let key = key(vault, name)
        let (cancelled, abandoned) = try await storage.transaction { transaction in
            guard var pending = try await transaction.read(PendingCertificate.self, at: key) else {
                throw CoffreError.pendingCertificateNotFound(name.display)
            }
            let abandoned = pending.material
            try pending.cancel()
            try await transaction.write(pending, at: key)
            return (pending, abandoned)
        }
        await keys.destroyKeys(stored: [abandoned].compactMap { $0 })
        return cancelled
    }

    /// Forgets the operation, whatever its status (the key of one waiting for a merge is destroyed).
    public func delete(in vault: VaultName, name: String) async throws -> PendingCertificate {
        let name = try ObjectName(name, kind: .certificate)
        let key = key(vault, name)
        let deleted = try await storage.transaction { transaction in
            guard let pending = try await transaction.read(PendingCertificate.self, at: key) else {
                throw CoffreError.pendingCertificateNotFound(name.display)
            }
            try await transaction.delete(key)
            return pending
        }
        await keys.destroyKeys(stored: [deleted.material].compactMap { $0 })
        return deleted
    }

    /// A certificate cannot be created or imported while its operation is in progress.
    func checkNoneInProgress(_ vault: VaultName, _ name: ObjectName, _ transaction: any StorageTransaction) async throws {
        if let pending = try await transaction.read(PendingCertificate.self, at: key(vault, name)), pending.isInProgress {
            throw CoffreError.certificateOperationInProgress(name.display)
        }
    }
}
