import CoffreBlob
import CoffreCertificates
import CoffreCrypto
import CoffreModel
import CoffreStorage

/// Security-domain downloads and uploads with the jobs that complete the activations they begin, and the status the
/// SDKs poll (`GET /securitydomain/{download|upload}/pending`): *in progress* at first, *success* once the job has
/// made the pool active, *failed* when it could not.
public struct ManagedHSMActivations: Sendable {
    /// What an activation job leaves behind.
    public struct Outcome: Codable, Sendable, Equatable {
        public var active: Bool
    }

    public enum Status: Sendable, Equatable {
        case inProgress
        case success
        case failed(String)
    }

    let securityDomain: ManagedHSMSecurityDomain
    let jobs: JobStore<Outcome>

    /// `jobs` must be run (``JobStore/run()``) by the server for activations to complete.
    public init(securityDomain: ManagedHSMSecurityDomain, jobs: JobStore<Outcome>) {
        self.securityDomain = securityDomain
        self.jobs = jobs
    }

    var directory: ManagedHSMDirectory { securityDomain.directory }
    var storage: any StorageBackend { securityDomain.storage }

    /// See ``ManagedHSMSecurityDomain/download(certificates:required:in:)``; the activation completes in a job.
    public func download(certificates: [ManagedHSMSecurityDomain.Certificate], required: Int, in pool: ManagedHSMName) async throws
        -> SecurityDomainFormat.Document
    {
        let document = try await securityDomain.download(certificates: certificates, required: required, in: pool)
        try await complete(.download, of: pool)
        return document
    }

    /// See ``ManagedHSMSecurityDomain/upload(_:to:)``; the activation completes in a job.
    public func upload(_ json: String, to pool: ManagedHSMName) async throws {
        try await securityDomain.upload(json, to: pool)
        try await complete(.upload, of: pool)
    }

    private func complete(_ source: PoolActivation.ActivationSource, of pool: ManagedHSMName) async throws {
        let directory = directory
        let job = try await jobs.submit(source == .download ? .securityDomainDownload : .securityDomainUpload, scope: pool.value) {
            _ throws(JobFailure) in
            do {
                try await directory.activation(.complete, of: pool)
                return Outcome(active: true)
            } catch {
                _ = try? await directory.activation(.fail(reason: "The activation could not be completed."), of: pool)
                throw JobFailure(code: "ActivationFailed", message: "The Managed HSM pool \(pool) could not be activated: \(error)")
            }
        }
        try await storage.transaction { try await $0.write(job.id, at: ManagedHSMPaths.activationJob(pool, source)) }
    }

    /// The status of the pool's last download or upload. A job that lost its runner (a node stopped) fails the
    /// activation it was completing, so that the pool may be activated again.
    public func status(_ source: PoolActivation.ActivationSource, of pool: ManagedHSMName) async throws -> Status {
        guard let id = try await storage.read(JobID.self, at: ManagedHSMPaths.activationJob(pool, source)),
            let view = try await jobs.poll(id, scope: pool.value)
        else {
            _ = try await directory.get(pool)
            throw CoffreError.badParameter("No security domain \(source.rawValue) has been started on the Managed HSM pool \(pool).")
        }
        switch view.status {
        case .inProgress: return .inProgress
        case .succeeded: return .success
        case .failed(let failure):
            if case .activating(source, _) = try await directory.get(pool).activation {
                _ = try? await directory.activation(.fail(reason: failure.message), of: pool)
            }
            return .failed(failure.message)
        }
    }
}

/// The Managed HSM services the fronts use, made once by the server's composition root.
public struct ManagedHSMServices: Sendable {
    public let pools: ManagedHSMDirectory
    public let access: ManagedHSMAccessControl
    public let settings: ManagedHSMSettings
    public let securityDomain: ManagedHSMSecurityDomain
    public let activations: ManagedHSMActivations
    public let attestation: ManagedHSMKeyAttestation
    public let backups: ManagedHSMBackups

    /// - Parameters:
    ///   - issuer: Coffre's CA, which certifies the pools' transfer and attestation keys.
    ///   - jobs: where activation jobs are recorded and run.
    ///   - backupJobs: where backup and restore jobs are recorded and run.
    ///   - keys: the key service the pools' keys live in (a backup carries a hardware key wrapped by the token).
    ///   - blobTransport: the transport to the Blob service of a container URL.
    public init(
        storage: any StorageBackend, clock: any WallClock, issuer: CertificateIssuer, jobs: JobStore<ManagedHSMActivations.Outcome>,
        backupJobs: JobStore<ManagedHSMBackups.Outcome>, keys: KeyService, blobTransport: @escaping @Sendable (String) -> any BlobTransport
    ) {
        pools = ManagedHSMDirectory(storage: storage, clock: clock)
        access = ManagedHSMAccessControl(storage: storage, clock: clock)
        settings = ManagedHSMSettings(storage: storage)
        securityDomain = ManagedHSMSecurityDomain(storage: storage, clock: clock, issuer: issuer)
        activations = ManagedHSMActivations(securityDomain: securityDomain, jobs: jobs)
        attestation = ManagedHSMKeyAttestation(storage: storage, clock: clock, issuer: issuer, custody: keys.custody)
        backups = ManagedHSMBackups(storage: storage, clock: clock, jobs: backupJobs, keys: keys, transport: blobTransport)
    }
}
