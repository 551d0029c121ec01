import ArcanosCore
import Foundation
import Testing

/// The slot lifecycle driven by events alone: no clock, no tasks, no store.
@Suite struct WorkerPoolStateMachineTests {
    typealias Machine = WorkerPoolStateMachine<ContinuousClock.Instant>

    let start = ContinuousClock.now
    let date = Date(timeIntervalSince1970: 1_800_000_000)

    func makeMachine(
        workerCount: Int = 2,
        restart: WorkerRestartPolicy = .init(initialBackoff: .milliseconds(100), maximumBackoff: .seconds(1)),
        retry: JobRetryPolicy = .init(initialDelay: .milliseconds(500), maximumDelay: .seconds(60)),
        modelWait: ModelWaitPolicy = .init(maximumWait: .seconds(3600))
    ) -> Machine {
        let configuration = WorkerPoolConfiguration(
            workerCount: workerCount,
            heartbeatTimeout: .seconds(5),
            restart: restart,
            retry: retry,
            modelWait: modelWait
        )
        return Machine(configuration: configuration, now: self.start)
    }

    func lease(fence: Int = 1, attempt: Int = 1, createdAt: Date? = nil) -> JobLease {
        var job = Job(
            NewJob(id: "job-\(fence)", worker: "arcanos", input: "hello", maxAttempts: 3),
            now: createdAt ?? self.date
        )
        job.status = .running
        job.attempts = attempt
        job.fence = fence
        return JobLease(job: job, owner: "arcanos-worker-1", fence: fence, expiresAt: self.date + 30)
    }

    /// Starts slot 0's worker and has it claim `lease` (a 10 s task).
    func running(_ lease: JobLease, in machine: inout Machine) -> Int {
        let incarnation = machine.workerStarting(slot: 0, now: self.start)
        machine.workerReported(.claiming, slot: 0, incarnation: incarnation, now: self.start)
        let claim = machine.jobClaimed(
            lease,
            timeout: .seconds(10),
            slot: 0,
            incarnation: incarnation,
            stopping: false,
            now: self.start
        )
        #expect(claim == .run)
        return incarnation
    }

    func executed(
        _ execution: Machine.Execution,
        fence: Int = 1,
        stopping: Bool = false,
        jitter: Double = 1,
        incarnation: Int,
        in machine: inout Machine
    ) -> Machine.ExecutionAction {
        machine.jobExecuted(
            fence: fence,
            execution,
            slot: 0,
            incarnation: incarnation,
            stopping: stopping,
            date: self.date,
            jitter: jitter
        )
    }

    func exited(
        _ exit: Machine.Exit,
        cancelled: Bool = false,
        now: ContinuousClock.Instant? = nil,
        jitter: Double = 1,
        incarnation: Int,
        in machine: inout Machine
    ) -> Machine.ExitAction {
        machine.workerExited(
            exit,
            slot: 0,
            incarnation: incarnation,
            cancelled: cancelled,
            now: now ?? self.start,
            jitter: jitter
        )
    }

    @Test func aClaimedJobRunsAndItsSuccessCompletesItAndClaimsTheNext() {
        var machine = self.makeMachine()
        #expect(machine.aliveWorkerIDs.isEmpty)
        let lease = self.lease()
        let incarnation = self.running(lease, in: &machine)
        #expect(machine.slots[0].phase == .busy && machine.slots[0].job?.lease == lease)
        #expect(machine.slots[0].job?.deadline == self.start + .seconds(10))
        #expect(machine.aliveWorkerIDs == ["arcanos-worker-1"])

        let action = self.executed(.success("HELLO"), incarnation: incarnation, in: &machine)
        #expect(action.job == .init(lease: lease, settlement: .complete(result: "HELLO", claimNext: true)))
        #expect(action.next == .work)
        #expect(machine.slots[0].job == nil)

        machine.workerReported(.idle, slot: 0, incarnation: incarnation, now: self.start + .seconds(1))
        #expect(machine.slots[0].phase == .idle && machine.slots[0].lastHeartbeat == self.start + .seconds(1))
    }

    @Test func aCrashChargesTheJobAndIsReplacedAtOnceThenWithGrowingBackoffUntilASuccess() {
        var machine = self.makeMachine()
        let lease = self.lease(attempt: 2)
        var incarnation = self.running(lease, in: &machine)
        let failed = self.executed(.failure("exit 1", .worker), incarnation: incarnation, in: &machine)
        // The second attempt's retry waits 2 × 500 ms; the worker ends as crashed.
        #expect(failed.job == .init(lease: lease, settlement: .fail(message: "exit 1", retryAfter: .seconds(1))))
        #expect(failed.next == .crash("exit 1"))

        var replacements: [Machine.Replacement] = []
        for jitter in [1.0, 1, 1, 0] {
            let exited = self.exited(.crashed("exit 1"), jitter: jitter, incarnation: incarnation, in: &machine)
            #expect(exited.job == nil, "the worker settled its own job")
            #expect(machine.slots[0].phase == .restarting && !machine.slots[0].phase.isAlive)
            replacements.append(exited.replacement)
            incarnation = machine.workerStarting(slot: 0, now: self.start)
        }
        #expect(
            replacements == [
                .restart(after: .zero), .restart(after: .milliseconds(100)), .restart(after: .milliseconds(200)),
                .restart(after: .milliseconds(200)),  // 400 ms, halved by jitter 0
            ]
        )
        #expect(machine.slots[0].restarts == 4 && machine.restart.crashes == 4 && incarnation == 5)

        // A success resets the slot's backoff: its next crash is replaced at once again.
        let next = self.lease(fence: 2)
        #expect(
            machine.jobClaimed(next, timeout: .seconds(10), slot: 0, incarnation: 5, stopping: false, now: self.start)
                == .run
        )
        _ = self.executed(.success("ok"), fence: 2, incarnation: 5, in: &machine)
        let exited = self.exited(.crashed("boom"), incarnation: 5, in: &machine)
        #expect(exited.replacement == .restart(after: .zero))
    }

    @Test func aCrashWithTheJobStillInTheSlotChargesItOnExit() {
        var machine = self.makeMachine()
        let lease = self.lease()
        let incarnation = self.running(lease, in: &machine)
        let exited = self.exited(
            .crashed("the job store could not be read"),
            jitter: 0,
            incarnation: incarnation,
            in: &machine
        )
        #expect(
            exited.job
                == .init(
                    lease: lease,
                    settlement: .fail(message: "the job store could not be read", retryAfter: .milliseconds(250))
                )
        )
    }

    @Test func moreRestartsThanTheThresholdTripTheStormGuardAndTheSlotStaysDead() {
        var machine = self.makeMachine(restart: .init(initialBackoff: .zero, restartThreshold: 1))
        var incarnation = machine.workerStarting(slot: 0, now: self.start)
        let first = self.exited(.crashed("boom"), incarnation: incarnation, in: &machine)
        #expect(first.replacement == .restart(after: .zero))
        incarnation = machine.workerStarting(slot: 0, now: self.start)
        let second = self.exited(
            .crashed("boom"),
            now: self.start + .seconds(1),
            incarnation: incarnation,
            in: &machine
        )
        #expect(second.replacement == .stormGuardTripped)
        #expect(machine.slots[0].phase == .dead && machine.restart.isUnsafe && machine.restart.storms == 1)
        #expect(machine.slots[0].restarts == 1)

        // A forced pool restart forgets the storm.
        machine.poolRestarted(resetStormGuard: true, now: self.start + .seconds(2))
        #expect(!machine.restart.isUnsafe)
    }

    @Test func stopDuringAJobHandsItBackAndTheStragglerWritesNothing() {
        var machine = self.makeMachine()
        let lease = self.lease()
        let incarnation = self.running(lease, in: &machine)
        let exited = self.exited(.stopped, cancelled: true, incarnation: incarnation, in: &machine)
        #expect(exited == .init(job: .init(lease: lease, settlement: .release), replacement: .none))
        #expect(machine.slots[0].phase == .stopped && machine.slots[0].restarts == 0 && machine.restart.crashes == 0)

        // The stopped worker's task ends later, with a success: the supervisor already settled the job.
        let late = self.executed(.success("late"), stopping: true, incarnation: incarnation, in: &machine)
        #expect(late == .init(job: nil, next: .stop))
    }

    @Test func aTaskThatFailsBecauseItWasStoppedIsHandedBackUncharged() {
        var machine = self.makeMachine()
        let lease = self.lease()
        let incarnation = self.running(lease, in: &machine)
        let action = self.executed(
            .failure("the task was cancelled", .worker),
            stopping: true,
            incarnation: incarnation,
            in: &machine
        )
        #expect(action == .init(job: .init(lease: lease, settlement: .release), next: .stop))
        // Nothing is left for the exit to settle, and a success while stopping claims nothing more.
        let exited = self.exited(.stopped, cancelled: true, incarnation: incarnation, in: &machine)
        #expect(exited.job == nil)
    }

    @Test func aSuccessWhileStoppingCompletesWithoutClaimingTheNextJob() {
        var machine = self.makeMachine()
        let lease = self.lease()
        let incarnation = self.running(lease, in: &machine)
        let action = self.executed(.success("done"), stopping: true, incarnation: incarnation, in: &machine)
        #expect(action.job?.settlement == .complete(result: "done", claimNext: false))
    }

    @Test func aJobClaimedWhileStoppingOrByAReplacedWorkerGoesStraightBack() {
        var machine = self.makeMachine()
        let first = machine.workerStarting(slot: 0, now: self.start)
        let lease = self.lease()
        let whileStopping = machine.jobClaimed(
            lease,
            timeout: .seconds(10),
            slot: 0,
            incarnation: first,
            stopping: true,
            now: self.start
        )
        #expect(whileStopping == .giveBack(.init(lease: lease, settlement: .release)))
        let second = machine.workerStarting(slot: 0, now: self.start)
        let straggler = machine.jobClaimed(
            lease,
            timeout: .seconds(10),
            slot: 0,
            incarnation: second - 1,
            stopping: false,
            now: self.start
        )
        #expect(straggler == .giveBack(.init(lease: lease, settlement: .release)))
        #expect(machine.slots[0].job == nil && machine.slots[0].phase == .starting)
        #expect(machine.claimAbandoned(lease) == .init(lease: lease, settlement: .release))
    }

    @Test func aLostLeaseDropsTheJobSoTheRunningAttemptWritesNothing() {
        var machine = self.makeMachine()
        let lease = self.lease(fence: 7)
        let incarnation = self.running(lease, in: &machine)
        #expect(machine.leaseToRenew(slot: 0, incarnation: incarnation) == lease)
        #expect(machine.leaseToRenew(slot: 0, incarnation: incarnation + 1) == nil)

        let renewed = machine.heartbeatAnswered(
            .applied,
            for: lease,
            slot: 0,
            incarnation: incarnation,
            now: self.start + .seconds(1)
        )
        #expect(renewed == .none && machine.slots[0].lastHeartbeat == self.start + .seconds(1))
        let storeAway = machine.heartbeatAnswered(
            nil,
            for: lease,
            slot: 0,
            incarnation: incarnation,
            now: self.start + .seconds(2)
        )
        #expect(
            storeAway == .none && machine.slots[0].lastHeartbeat == self.start + .seconds(2),
            "a heartbeat the store failed is still the worker's sign of life"
        )
        // A fenced answer for an older lease leaves the current job alone.
        let stale = machine.heartbeatAnswered(
            .fenced,
            for: self.lease(fence: 6),
            slot: 0,
            incarnation: incarnation,
            now: self.start
        )
        #expect(stale == .none && machine.slots[0].job != nil)

        let lost = machine.heartbeatAnswered(
            .fenced,
            for: lease,
            slot: 0,
            incarnation: incarnation,
            now: self.start + .seconds(3)
        )
        #expect(lost == .leaseLost(lease) && machine.slots[0].job == nil)
        #expect(machine.leaseToRenew(slot: 0, incarnation: incarnation) == nil)
        let finished = self.executed(.success("written by nobody"), fence: 7, incarnation: incarnation, in: &machine)
        #expect(finished == .init(job: nil, next: .work), "the worker goes on without writing")
    }

    @Test func anUnavailableModelHandsTheJobBackUnchargedAndTheWorkerCarriesOn() {
        var machine = self.makeMachine()
        let lease = self.lease(attempt: 2)
        let incarnation = self.running(lease, in: &machine)
        let action = self.executed(
            .failure("the model call failed (circuit_open)", .modelUnavailable(retryAfter: .seconds(3))),
            incarnation: incarnation,
            in: &machine
        )
        #expect(
            action
                == .init(
                    job: .init(
                        lease: lease,
                        settlement: .waitForModel(
                            message: "the model call failed (circuit_open)",
                            retryAfter: .seconds(3)
                        )
                    ),
                    next: .work
                )
        )
        #expect(machine.restart.crashes == 0 && machine.slots[0].restarts == 0)
    }

    @Test func withoutARetryAfterTheModelWaitIsTheFirstRetryDelay() {
        var machine = self.makeMachine()
        let lease = self.lease(attempt: 3)
        let incarnation = self.running(lease, in: &machine)
        let action = self.executed(
            .failure("the model call failed (timeout)", .modelUnavailable(retryAfter: nil)),
            jitter: 0,
            incarnation: incarnation,
            in: &machine
        )
        #expect(
            action.job?.settlement
                == .waitForModel(message: "the model call failed (timeout)", retryAfter: .milliseconds(250))
        )
    }

    @Test func aJobThatWaitedForTheModelTooLongFailsForGood() {
        var machine = self.makeMachine(modelWait: .init(maximumWait: .seconds(60)))
        let lease = self.lease(createdAt: self.date - 61)
        let incarnation = self.running(lease, in: &machine)
        let action = self.executed(
            .failure("the model call failed (circuit_open)", .modelUnavailable(retryAfter: nil)),
            incarnation: incarnation,
            in: &machine
        )
        let reason = "the model was unavailable for longer than JOB_MODEL_WAIT_MS (60000 ms)"
        #expect(
            action == .init(job: .init(lease: lease, settlement: .fail(message: reason, retryAfter: nil)), next: .work)
        )
    }

    @Test func aRejectedRequestIsChargedButTheWorkerCarriesOn() {
        var machine = self.makeMachine()
        let lease = self.lease()
        let incarnation = self.running(lease, in: &machine)
        let action = self.executed(
            .failure("the model call failed (rejected)", .modelRejected),
            incarnation: incarnation,
            in: &machine
        )
        #expect(
            action
                == .init(
                    job: .init(
                        lease: lease,
                        settlement: .fail(message: "the model call failed (rejected)", retryAfter: .milliseconds(500))
                    ),
                    next: .work
                )
        )
        #expect(machine.restart.crashes == 0)
    }

    @Test func aJobNamingAModuleThatCannotRunFailsForGood() {
        let machine = self.makeMachine()
        let lease = self.lease()
        #expect(
            machine.jobCannotRun(lease, message: "unknown worker")
                == .init(lease: lease, settlement: .fail(message: "unknown worker", retryAfter: nil))
        )
    }

    @Test func aTaskPastItsDeadlineIsHungAndItsJobChargedWhenTheWorkerExits() {
        var machine = self.makeMachine()
        let lease = self.lease()
        let incarnation = self.running(lease, in: &machine)
        _ = machine.workerStarting(slot: 1, now: self.start)
        machine.workerReported(.idle, slot: 1, incarnation: 1, now: self.start)

        #expect(machine.monitorTick(now: self.start + .seconds(4), exiting: []).isEmpty)
        // At 10.5 s: slot 0 is past its deadline; slot 1 has been silent for 10 s but is idle, which is fine.
        let hangs = machine.monitorTick(now: self.start + .milliseconds(10_500), exiting: [])
        #expect(
            hangs == [
                .init(slot: 0, workerID: "arcanos-worker-1", reason: .deadlineExceeded, overdue: .milliseconds(500))
            ]
        )
        #expect(machine.slots[0].phase == .hung(.deadlineExceeded) && machine.aliveWorkerIDs == ["arcanos-worker-2"])
        #expect(machine.monitorTick(now: self.start + .seconds(11), exiting: []).isEmpty, "found once")

        let exited = self.exited(
            .hung(.deadlineExceeded),
            now: self.start + .seconds(11),
            incarnation: incarnation,
            in: &machine
        )
        #expect(
            exited
                == .init(
                    job: .init(
                        lease: lease,
                        settlement: .fail(
                            message: "the worker hung (deadline_exceeded)",
                            retryAfter: .milliseconds(500)
                        )
                    ),
                    replacement: .restart(after: .zero)
                )
        )
        #expect(machine.slots[0].phase == .hung(.deadlineExceeded), "still reported hung until replaced")
        #expect(machine.restart.hangs == 1)
    }

    @Test func aBusyWorkerThatStopsBeatingIsHungUnlessItIsAlreadyExiting() {
        var machine = self.makeMachine()
        _ = self.running(self.lease(), in: &machine)
        #expect(machine.monitorTick(now: self.start + .seconds(6), exiting: [0]).isEmpty)
        let hangs = machine.monitorTick(now: self.start + .seconds(6), exiting: [])
        #expect(hangs.map(\.reason) == [.missedHeartbeats] && hangs.first?.overdue == .seconds(1))
    }

    @Test func aWorkerThatStopsOnItsOwnCountsAsACrash() {
        var machine = self.makeMachine()
        let incarnation = machine.workerStarting(slot: 0, now: self.start)
        let exited = self.exited(.stopped, incarnation: incarnation, in: &machine)
        #expect(exited == .init(job: nil, replacement: .restart(after: .zero)))
        #expect(machine.restart.crashes == 1 && machine.slots[0].phase == .restarting)
    }
}
