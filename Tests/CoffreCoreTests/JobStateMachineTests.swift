import CoffreCore
import CoffreModel
import CoffreStorage
import Foundation
import Testing

/// The job life cycle without I/O: each test feeds events at chosen instants (milliseconds) and checks the actions.
@Suite struct JobStateMachineTests {
    typealias Machine = JobStateMachine<String>

    static let submitted: Int64 = 1_700_000_000_250

    /// A job submitted at `submitted`, started at once, and done with `result` 10 ms later.
    static func finishedJob(_ result: Result<String, JobFailure> = .success("folder")) -> Machine {
        var machine = Machine(submitting: .fullBackup, scope: "pool", at: submitted)
        #expect(machine.start(at: submitted + 1) == .persistAndRun)
        #expect(machine.finish(result, at: submitted + 10) == .persist)
        return machine
    }

    static func inProgress(_ machine: Machine) -> JobView<String> {
        JobView(id: machine.record.id, kind: machine.record.kind, status: .inProgress, startTime: 1_700_000_000, endTime: nil)
    }

    @Test func theSubmissionAnswerShowsTheJobInProgressWithItsStartTime() {
        let machine = Machine(submitting: .securityDomainDownload, scope: "pool", at: Self.submitted)
        #expect(machine.submittedView == Self.inProgress(machine))
        #expect(machine.record.phase == .submitted)
        #expect(machine.record.id.value.count == 32)
    }

    @Test func theFirstPollAfterSubmissionAnswersInProgressEvenWhenTheWorkIsDone() {
        var machine = Self.finishedJob()
        #expect(machine.poll(at: Self.submitted + 20) == .persistAndAnswer(Self.inProgress(machine)))
        #expect(machine.record.inProgressAnswers == 1)
    }

    @Test func aPollerRebuiltFromItsTokenStillSeesTheJobInProgressThenTheNextPollSeesItDone() {
        var machine = Self.finishedJob()
        _ = machine.poll(at: Self.submitted + 20) // the first poller
        #expect(machine.poll(at: Self.submitted + 30) == .persistAndAnswer(Self.inProgress(machine))) // the rebuilt one
        let done = JobView(
            id: machine.record.id, kind: .fullBackup, status: .succeeded("folder"), startTime: 1_700_000_000, endTime: 1_700_000_000)
        #expect(machine.poll(at: Self.submitted + 40) == .answer(done))
        // Finished jobs stay readable, and reading them writes nothing.
        #expect(machine.poll(at: Self.submitted + 90_000_000) == .answer(done))
    }

    @Test func oneInProgressAnswerAndTheMinimumAgeAreEnoughToShowTheOutcome() {
        var machine = Self.finishedJob()
        _ = machine.poll(at: Self.submitted + 20)
        #expect(machine.poll(at: Self.submitted + 1_499) == .persistAndAnswer(Self.inProgress(machine)))
        var late = Self.finishedJob()
        _ = late.poll(at: Self.submitted + 20)
        guard case .answer(let view) = late.poll(at: Self.submitted + 1_500) else {
            Issue.record("the second poll 1.5 s after submission should show the outcome without a write")
            return
        }
        #expect(view.status == .succeeded("folder"))
    }

    @Test func withoutAnyInProgressAnswerEvenAnOldJobFirstAnswersInProgress() {
        var machine = Self.finishedJob()
        #expect(machine.poll(at: Self.submitted + 3_600_000) == .persistAndAnswer(Self.inProgress(machine)))
    }

    @Test func pollsWhileRunningAreCountedOnlyUpToTheRuleAndTheNextPollAfterTheEndShowsIt() {
        var machine = Machine(submitting: .fullRestore, scope: "pool", at: Self.submitted)
        _ = machine.start(at: Self.submitted)
        #expect(machine.poll(at: Self.submitted + 100) == .persistAndAnswer(Self.inProgress(machine)))
        #expect(machine.poll(at: Self.submitted + 200) == .persistAndAnswer(Self.inProgress(machine)))
        #expect(machine.poll(at: Self.submitted + 300) == .answer(Self.inProgress(machine)))
        #expect(machine.record.inProgressAnswers == 2)
        _ = machine.finish(.failure(JobFailure(code: "InvalidArgument", message: "The folder does not exist.")), at: Self.submitted + 5_000)
        let failed = JobView<String>(
            id: machine.record.id, kind: .fullRestore, status: .failed(JobFailure(code: "InvalidArgument", message: "The folder does not exist.")),
            startTime: 1_700_000_000, endTime: 1_700_000_005)
        #expect(machine.poll(at: Self.submitted + 5_001) == .answer(failed))
    }

    @Test func aRunnerThatGoesSilentLeavesItsJobInterruptedNotInProgressForEver() {
        var machine = Machine(submitting: .fullBackup, scope: "pool", at: Self.submitted)
        _ = machine.start(at: Self.submitted)
        #expect(machine.heartbeat(at: Self.submitted + 50_000) == .persist)
        // 60 s of silence are allowed…
        #expect(machine.poll(at: Self.submitted + 110_000) == .persistAndAnswer(Self.inProgress(machine)))
        // …not more: the job fails, and this second poll, long after submission, shows it.
        guard case .persistAndAnswer(let view) = machine.poll(at: Self.submitted + 110_001) else {
            Issue.record("an interrupted job is written back")
            return
        }
        #expect(view.status == .failed(.interrupted))
        #expect(view.endTime == 1_700_000_110)
        // The runner, alive after all, finishes late: the job keeps its first ending.
        #expect(machine.finish(.success("folder"), at: Self.submitted + 120_000) == .none)
        #expect(machine.heartbeat(at: Self.submitted + 120_000) == .none)
        guard case .answer(let again) = machine.poll(at: Self.submitted + 130_000) else {
            Issue.record("nothing more to write")
            return
        }
        #expect(again.status == .failed(.interrupted))
    }

    @Test func aJobNoRunnerTookIsInterruptedAndIsNotRunLater() {
        var machine = Machine(submitting: .preBackup, scope: "pool", at: Self.submitted)
        _ = machine.poll(at: Self.submitted + 1_000)
        guard case .persistAndAnswer(let view) = machine.poll(at: Self.submitted + 60_001) else {
            Issue.record("an interrupted job is written back")
            return
        }
        #expect(view.status == .failed(.interrupted))
        #expect(machine.start(at: Self.submitted + 70_000) == .skip)
    }

    @Test func aStoppingRunnerInterruptsWhatHasNotFinishedAndOnlyThat() {
        var running = Machine(submitting: .fullBackup, scope: "pool", at: Self.submitted)
        _ = running.start(at: Self.submitted)
        #expect(running.interrupt(at: Self.submitted + 5) == .persist)
        #expect(running.record.phase == .failed(.interrupted, ended: Self.submitted + 5))
        #expect(running.interrupt(at: Self.submitted + 6) == .none)
        var done = Self.finishedJob()
        #expect(done.interrupt(at: Self.submitted + 20) == .none)
        #expect(done.record.phase == .succeeded("folder", ended: Self.submitted + 10))
    }

    @Test func aJobStartsOnceAndOnlyARunningJobFinishesOrBeatsItsHeart() {
        var machine = Machine(submitting: .selectiveKeyRestore, scope: "pool", at: Self.submitted)
        #expect(machine.heartbeat(at: Self.submitted) == .none)
        #expect(machine.finish(.success("early"), at: Self.submitted) == .none)
        #expect(machine.start(at: Self.submitted) == .persistAndRun)
        #expect(machine.start(at: Self.submitted) == .skip)
        #expect(machine.finish(.success("folder"), at: Self.submitted + 1) == .persist)
        #expect(machine.finish(.success("twice"), at: Self.submitted + 2) == .none)
        #expect(machine.record.phase == .succeeded("folder", ended: Self.submitted + 1))
    }

    @Test func jobIdsAre32HexDigitsInLowerCase() throws {
        let upper = "0123456789ABCDEF0123456789ABCDEF"
        #expect(JobID(upper)?.value == upper.lowercased())
        #expect(JobID(String(upper.dropLast())) == nil)
        #expect(JobID(upper + "0") == nil)
        #expect(JobID("0123456789abcdef0123456789abcdeg") == nil)
        let ids = (0..<100).map { _ in JobID.random() }
        #expect(Set(ids).count == 100)
        #expect(ids.allSatisfy { JobID($0.value) == $0 })
        #expect(throws: StorageError.self) { try RecordCoder.decode(JobID.self, from: Array("\"nope\"".utf8), at: "k") }
    }

    @Test func recordsInEveryPhaseSurviveTheStorageCoding() throws {
        var submitted = Machine(submitting: .fullBackup, scope: "pool", at: Self.submitted)
        _ = submitted.poll(at: Self.submitted + 20)
        var running = submitted
        _ = running.start(at: Self.submitted + 30)
        let records = [
            submitted.record, running.record, Self.finishedJob().record,
            Self.finishedJob(.failure(JobFailure(code: "C", message: "M"))).record,
        ]
        for record in records {
            #expect(try RecordCoder.decode(JobRecord<String>.self, from: RecordCoder.encode(record), at: "k") == record)
        }
    }
}
