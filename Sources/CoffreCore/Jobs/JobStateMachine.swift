import CoffreCrypto
import CoffreModel

/// A long-running job's identifier: 32 lower-case hexadecimal digits, as Managed HSM's backup and restore jobs have.
public struct JobID: Hashable, Sendable, Codable, CustomStringConvertible {
    public let value: String

    /// The id in a request path (either case); nil when it cannot be a job id.
    public init?(_ text: String) {
        guard let value = VersionID.normalised(text) else { return nil }
        self.value = value
    }

    private init(value: String) { self.value = value }

    public static func random() -> JobID { JobID(value: VersionID.from(randomBytes: SecureRandom.bytes(16))) }

    public init(from decoder: any Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        guard let id = JobID(text) else { throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: "not a job id")) }
        self = id
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(value)
    }

    public var description: String { value }
}

/// What a job does. Open: a service names its own kinds; the Managed HSM ones are here.
public struct JobKind: RawRepresentable, Hashable, Sendable, Codable {
    public let rawValue: String

    public init(rawValue: String) { self.rawValue = rawValue }

    public static let fullBackup = JobKind(rawValue: "backup")
    public static let preBackup = JobKind(rawValue: "prebackup")
    public static let fullRestore = JobKind(rawValue: "restore")
    public static let preRestore = JobKind(rawValue: "prerestore")
    public static let selectiveKeyRestore = JobKind(rawValue: "keyrestore")
    public static let securityDomainDownload = JobKind(rawValue: "securitydomain-download")
    public static let securityDomainUpload = JobKind(rawValue: "securitydomain-upload")
}

/// Why a job failed: an error code and a message, both shown to whoever polls the job (no secret in either).
public struct JobFailure: Error, Sendable, Codable, Equatable {
    public var code: String
    public var message: String

    public init(code: String, message: String) {
        self.code = code
        self.message = message
    }

    /// The job's runner stopped (the server shut down or crashed) before the job finished.
    public static let interrupted = JobFailure(
        code: "ServiceUnavailable", message: "The server running this job stopped before the job finished; submit the job again.")
}

/// A job as its caller sees it.
public enum JobStatus<Output: Sendable & Equatable>: Sendable, Equatable {
    case inProgress
    case succeeded(Output)
    case failed(JobFailure)
}

/// What a submission's answer or a poll shows of a job: its status and times in whole seconds since 1970.
public struct JobView<Output: Sendable & Equatable>: Sendable, Equatable {
    public let id: JobID
    public let kind: JobKind
    public let status: JobStatus<Output>
    public let startTime: Int64
    /// Set once the status shows the job finished.
    public let endTime: Int64?

    public init(id: JobID, kind: JobKind, status: JobStatus<Output>, startTime: Int64, endTime: Int64?) {
        self.id = id
        self.kind = kind
        self.status = status
        self.startTime = startTime
        self.endTime = endTime
    }
}

/// The rules of a job's life that involve time.
public struct JobTiming: Sendable {
    /// Polls that answer "in progress" before a finished job shows as finished: the Azure SDKs' pollers expect the
    /// first poll after submission, and the first poll of a poller rebuilt from its continuation token, to see the job
    /// still running.
    public var inProgressPolls: Int
    /// After one poll has answered "in progress", a finished job shows as finished this long after its submission
    /// even if fewer polls came.
    public var minimumAge: Duration
    /// How often the runner of a running job says it is still alive.
    public var heartbeat: Duration
    /// A job not finished whose runner has said nothing for this long has lost its runner: it shows as failed.
    public var abandonAfter: Duration

    public init(
        inProgressPolls: Int = 2, minimumAge: Duration = .milliseconds(1500), heartbeat: Duration = .seconds(10),
        abandonAfter: Duration = .seconds(60)
    ) {
        self.inProgressPolls = inProgressPolls
        self.minimumAge = minimumAge
        self.heartbeat = heartbeat
        self.abandonAfter = abandonAfter
    }
}

/// A job as stored: the state `JobStateMachine` moves on. Times are milliseconds since 1970.
public struct JobRecord<Output: Codable & Sendable & Equatable>: Codable, Sendable, Equatable {
    /// submitted → running → succeeded | failed. Only a job that has not finished can fail as interrupted.
    public enum Phase: Codable, Sendable, Equatable {
        /// Waiting for a runner to pick it up.
        case submitted
        /// Its runner last said it was alive at `heartbeat`.
        case running(heartbeat: Int64)
        case succeeded(Output, ended: Int64)
        case failed(JobFailure, ended: Int64)
    }

    public let id: JobID
    public let kind: JobKind
    /// Whose job it is (a pool, a vault): a poll in another scope does not see it.
    public let scope: String
    public let submitted: Int64
    public internal(set) var phase: Phase
    /// Polls answered "in progress", counted up to what the reveal rule needs (so at most that many writes).
    public internal(set) var inProgressAnswers: Int
}

/// The life of one long-running job, without I/O: events in, actions out. Its owner (`JobStore`) loads the record,
/// applies one event, carries out the action (writing the record back when it says so) and runs the job's work.
///
/// The outcome of a finished job is shown only after `timing.inProgressPolls` polls have answered "in progress", or
/// after one has and `timing.minimumAge` has passed since submission; until then a poll answers "in progress" even
/// if the work is done. A job whose runner went silent for `timing.abandonAfter` (a crash, a lost node) is failed
/// as `JobFailure.interrupted` at the next poll: it is never left "in progress" for ever.
public struct JobStateMachine<Output: Codable & Sendable & Equatable>: Sendable {
    public private(set) var record: JobRecord<Output>
    public let timing: JobTiming

    /// A new job, submitted at `now`.
    public init(submitting kind: JobKind, scope: String, id: JobID = .random(), at now: Int64, timing: JobTiming = JobTiming()) {
        self.record = JobRecord(id: id, kind: kind, scope: scope, submitted: now, phase: .submitted, inProgressAnswers: 0)
        self.timing = timing
    }

    /// A job loaded from storage.
    public init(_ record: JobRecord<Output>, timing: JobTiming = JobTiming()) {
        self.record = record
        self.timing = timing
    }

    /// What the submission's answer shows: the job in progress.
    public var submittedView: JobView<Output> { view(revealing: false) }

    public enum StartAction: Sendable, Equatable {
        /// Write the record, then run the work.
        case persistAndRun
        /// The job ended already (failed as interrupted before a runner took it): do not run it.
        case skip
    }

    /// A runner takes the job.
    public mutating func start(at now: Int64) -> StartAction {
        guard case .submitted = record.phase else { return .skip }
        record.phase = .running(heartbeat: now)
        return .persistAndRun
    }

    public enum Action: Sendable, Equatable {
        case none
        /// Write the record.
        case persist
    }

    /// The runner of a running job says it is alive.
    public mutating func heartbeat(at now: Int64) -> Action {
        guard case .running = record.phase else { return .none }
        record.phase = .running(heartbeat: now)
        return .persist
    }

    /// The work ended. A job that already ended (interrupted meanwhile) keeps its first ending.
    public mutating func finish(_ result: Result<Output, JobFailure>, at now: Int64) -> Action {
        guard case .running = record.phase else { return .none }
        switch result {
        case .success(let output): record.phase = .succeeded(output, ended: now)
        case .failure(let failure): record.phase = .failed(failure, ended: now)
        }
        return .persist
    }

    /// The runner stops (graceful shutdown) before the job finished.
    public mutating func interrupt(at now: Int64) -> Action {
        guard !isFinished else { return .none }
        record.phase = .failed(.interrupted, ended: now)
        return .persist
    }

    public enum PollAction: Sendable, Equatable {
        case answer(JobView<Output>)
        /// Write the record (a poll was counted, or the job was found interrupted), then answer.
        case persistAndAnswer(JobView<Output>)
    }

    /// Someone asks how the job is going.
    public mutating func poll(at now: Int64) -> PollAction {
        var changed = false
        if let alive = lastSignOfLife, now - alive > timing.abandonAfter.milliseconds {
            record.phase = .failed(.interrupted, ended: now)
            changed = true
        }
        let answeredEnough =
            record.inProgressAnswers >= timing.inProgressPolls
            || (record.inProgressAnswers >= 1 && now - record.submitted >= timing.minimumAge.milliseconds)
        let reveal = isFinished && answeredEnough
        if !reveal && record.inProgressAnswers < timing.inProgressPolls {
            record.inProgressAnswers += 1
            changed = true
        }
        let view = view(revealing: reveal)
        return changed ? .persistAndAnswer(view) : .answer(view)
    }

    private var isFinished: Bool {
        switch record.phase {
        case .submitted, .running: false
        case .succeeded, .failed: true
        }
    }

    /// When the job, not finished, was last known to have a live runner.
    private var lastSignOfLife: Int64? {
        switch record.phase {
        case .submitted: record.submitted
        case .running(let heartbeat): heartbeat
        case .succeeded, .failed: nil
        }
    }

    private func view(revealing: Bool) -> JobView<Output> {
        let (status, ended): (JobStatus<Output>, Int64?) =
            switch record.phase {
            case .succeeded(let output, let ended) where revealing: (.succeeded(output), ended)
            case .failed(let failure, let ended) where revealing: (.failed(failure), ended)
            default: (.inProgress, nil)
            }
        return JobView(
            id: record.id, kind: record.kind, status: status, startTime: Self.seconds(record.submitted), endTime: ended.map(Self.seconds))
    }

    private static func seconds(_ milliseconds: Int64) -> Int64 { milliseconds / 1000 }
}

extension Duration {
    /// Whole milliseconds (rounded down).
    fileprivate var milliseconds: Int64 {
        let (seconds, attoseconds) = components
        return seconds * 1000 + attoseconds / 1_000_000_000_000_000
    }
}
