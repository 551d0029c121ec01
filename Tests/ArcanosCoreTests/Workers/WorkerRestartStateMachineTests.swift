import ArcanosCore
import Testing

@Suite struct WorkerRestartStateMachineTests {
    let start = ContinuousClock.now
    typealias Machine = WorkerRestartStateMachine<ContinuousClock.Instant>

    @Test func firstCrashIsReplacedAtOnceThenWithGrowingJitteredBackoff() {
        var machine = Machine(
            configuration: .init(initialBackoff: .milliseconds(100), maximumBackoff: .seconds(1), restartThreshold: 100)
        )
        #expect(machine.workerFailed(slot: 0, cause: .crash, now: self.start, jitter: 1) == .restart(after: .zero))
        #expect(
            machine.workerFailed(slot: 0, cause: .crash, now: self.start, jitter: 1)
                == .restart(after: .milliseconds(100))
        )
        #expect(
            machine.workerFailed(slot: 0, cause: .crash, now: self.start, jitter: 1)
                == .restart(after: .milliseconds(200))
        )
        #expect(
            machine.workerFailed(slot: 0, cause: .crash, now: self.start, jitter: 0)
                == .restart(after: .milliseconds(200))
        )
        // Capped, and another slot starts from scratch.
        for _ in 0..<5 { _ = machine.workerFailed(slot: 0, cause: .crash, now: self.start, jitter: 1) }
        #expect(
            machine.workerFailed(slot: 0, cause: .crash, now: self.start, jitter: 1) == .restart(after: .seconds(1))
        )
        #expect(machine.workerFailed(slot: 1, cause: .hang, now: self.start, jitter: 1) == .restart(after: .zero))
        #expect(machine.crashes == 10 && machine.hangs == 1 && machine.restarts == 11)
    }

    @Test func successResetsTheSlotsBackoff() {
        var machine = Machine()
        _ = machine.workerFailed(slot: 0, cause: .crash, now: self.start, jitter: 1)
        machine.workerSucceeded(slot: 0)
        #expect(machine.workerFailed(slot: 0, cause: .crash, now: self.start, jitter: 1) == .restart(after: .zero))
    }

    @Test func moreRestartsThanTheThresholdWithinTheWindowTripTheStormGuardUntilThePoolRestarts() {
        var machine = Machine(
            configuration: .init(initialBackoff: .zero, restartThreshold: 3, restartWindow: .seconds(10))
        )
        for slot in 0..<3 {
            #expect(
                machine.workerFailed(slot: slot, cause: .crash, now: self.start, jitter: 0) == .restart(after: .zero)
            )
        }
        #expect(machine.workerFailed(slot: 3, cause: .crash, now: self.start + .seconds(1), jitter: 0) == .stop)
        #expect(machine.isUnsafe && machine.storms == 1 && machine.restarts == 3)
        // Sticky: no restart even once the window has passed, until the pool is restarted.
        #expect(machine.workerFailed(slot: 0, cause: .crash, now: self.start + .seconds(60), jitter: 0) == .stop)
        #expect(machine.storms == 1)
        machine.poolRestarted(now: self.start + .seconds(60))
        #expect(!machine.isUnsafe && !machine.isOnProbation(now: self.start + .seconds(61)))
        #expect(
            machine.workerFailed(slot: 0, cause: .crash, now: self.start + .seconds(61), jitter: 0)
                == .restart(after: .zero)
        )
    }

    /// Trips the guard of a machine with threshold 1, window 10 s and a 30 s quiet period at `start + at`.
    func trippedMachine(at seconds: Int = 0) -> Machine {
        var machine = Machine(
            configuration: .init(
                initialBackoff: .zero,
                restartThreshold: 1,
                restartWindow: .seconds(10),
                quietPeriod: .seconds(30),
                maximumQuietPeriod: .seconds(100)
            )
        )
        _ = machine.workerFailed(slot: 0, cause: .crash, now: self.start + .seconds(seconds), jitter: 0)
        _ = machine.workerFailed(slot: 1, cause: .crash, now: self.start + .seconds(seconds), jitter: 0)
        return machine
    }

    @Test("issue 16: an unsafe pool is due one probe restart once its quiet period is over")
    func anUnsafePoolIsDueAProbeAfterItsQuietPeriod() {
        let machine = self.trippedMachine()
        #expect(machine.isUnsafe && machine.nextProbeAt == self.start + .seconds(30))
        #expect(!machine.probeIsDue(now: self.start + .seconds(29)))
        #expect(machine.probeIsDue(now: self.start + .seconds(30)))
        var healthy = Machine()
        #expect(healthy.nextProbeAt == nil && !healthy.probeIsDue(now: self.start + .seconds(3600)))
        healthy.poolRestarted(resetStormGuard: false, now: self.start)
        #expect(!healthy.isOnProbation(now: self.start), "a healthy pool restarted plainly is not on probation")
    }

    @Test("issue 16: a probe that fails makes the pool unsafe again and doubles the quiet period, up to its cap")
    func aFailedProbeBacksOff() {
        var machine = self.trippedMachine()
        var now = self.start
        for expected in [60, 100, 100] {
            now = machine.nextProbeAt!
            machine.poolRestarted(resetStormGuard: false, now: now)
            #expect(!machine.isUnsafe && machine.isOnProbation(now: now))
            // One crash on probation is enough: the storm is not over.
            #expect(machine.workerFailed(slot: 0, cause: .crash, now: now + .seconds(9), jitter: 0) == .stop)
            #expect(machine.isUnsafe && machine.quietPeriod == .seconds(expected))
            #expect(machine.nextProbeAt == now + .seconds(9) + .seconds(expected))
        }
        #expect(machine.storms == 4)
    }

    @Test("issue 16: a probe that outlives the restart window is trusted again, quiet period back to its base")
    func aProbeThatOutlivesItsProbationRecovers() {
        var machine = self.trippedMachine()
        let probe = machine.nextProbeAt!
        machine.poolRestarted(resetStormGuard: false, now: probe)
        _ = machine.workerFailed(slot: 0, cause: .crash, now: probe + .seconds(1), jitter: 0)
        let second = machine.nextProbeAt!
        #expect(machine.quietPeriod == .seconds(60))
        machine.poolRestarted(resetStormGuard: false, now: second)
        #expect(!machine.isOnProbation(now: second + .seconds(10)))
        #expect(
            machine.workerFailed(slot: 0, cause: .crash, now: second + .seconds(10), jitter: 0)
                == .restart(after: .zero)
        )
        #expect(!machine.isUnsafe && machine.quietPeriod == .seconds(30) && machine.probationSince == nil)
    }

    @Test("issue 16: a forced restart forgets the storm: no probation, the base quiet period")
    func aForcedRestartForgetsTheStorm() {
        var machine = self.trippedMachine()
        let probe = machine.nextProbeAt!
        machine.poolRestarted(resetStormGuard: false, now: probe)
        _ = machine.workerFailed(slot: 0, cause: .crash, now: probe, jitter: 0)
        #expect(machine.quietPeriod == .seconds(60))
        machine.poolRestarted(resetStormGuard: true, now: probe + .seconds(1))
        #expect(!machine.isUnsafe && !machine.isOnProbation(now: probe + .seconds(1)))
        #expect(machine.quietPeriod == .seconds(30))
        #expect(
            machine.workerFailed(slot: 0, cause: .crash, now: probe + .seconds(2), jitter: 0) == .restart(after: .zero)
        )
    }

    @Test func restartsOutsideTheWindowDoNotCount() {
        var machine = Machine(
            configuration: .init(initialBackoff: .zero, restartThreshold: 2, restartWindow: .seconds(10))
        )
        _ = machine.workerFailed(slot: 0, cause: .crash, now: self.start, jitter: 0)
        _ = machine.workerFailed(slot: 1, cause: .crash, now: self.start + .seconds(5), jitter: 0)
        #expect(machine.restartsInWindow(now: self.start + .seconds(10)) == 1)
        #expect(
            machine.workerFailed(slot: 2, cause: .crash, now: self.start + .seconds(10), jitter: 0)
                == .restart(after: .zero)
        )
        #expect(!machine.isUnsafe)
    }
}

@Suite struct WorkerHangDetectorTests {
    let detector = WorkerHangDetector(heartbeatTimeout: .seconds(5))
    let start = ContinuousClock.now

    @Test func aTaskPastItsDeadlineIsHung() {
        let deadline = self.start + .seconds(2)
        #expect(
            self.detector.verdict(
                deadline: deadline,
                lastHeartbeat: self.start,
                idle: false,
                now: self.start + .seconds(1)
            ) == nil
        )
        #expect(
            self.detector.verdict(
                deadline: deadline,
                lastHeartbeat: self.start + .seconds(2),
                idle: false,
                now: deadline
            )
                == .deadlineExceeded
        )
    }

    @Test func aWorkerThatStopsBeatingIsHungUnlessItIsIdle() {
        let now = self.start + .seconds(5)
        #expect(
            self.detector.verdict(deadline: nil, lastHeartbeat: self.start, idle: false, now: now) == .missedHeartbeats
        )
        #expect(self.detector.verdict(deadline: nil, lastHeartbeat: self.start, idle: true, now: now) == nil)
        #expect(
            self.detector.verdict(deadline: nil, lastHeartbeat: self.start + .seconds(1), idle: false, now: now) == nil
        )
    }
}

@Suite struct JobRetryPolicyTests {
    @Test func delaysGrowExponentiallyWithJitterAndACap() {
        let policy = JobRetryPolicy(initialDelay: .milliseconds(500), maximumDelay: .seconds(3))
        #expect(policy.delay(afterAttempt: 1, jitter: 1) == .milliseconds(500))
        #expect(policy.delay(afterAttempt: 2, jitter: 1) == .seconds(1))
        #expect(policy.delay(afterAttempt: 2, jitter: 0) == .milliseconds(500))
        #expect(policy.delay(afterAttempt: 10, jitter: 1) == .seconds(3))
        #expect(JobRetryPolicy(initialDelay: .zero).delay(afterAttempt: 3, jitter: 1) == .zero)
    }
}

@Suite struct InputPreviewTests {
    @Test func previewsAreTheFirst120Characters() {
        let preview = InputPreview.make(String(repeating: "a", count: 300))
        #expect(preview.count == 120)
    }

    @Test(arguments: [
        "Authorization: Bearer abcdef123456.token",
        "use sk-proj-1234567890abcdefghij please",
        "api_key=supersecretvalue and more",
        "password: hunter2hunter2",
        "token 0123456789abcdef0123456789abcdef01234567",
        "ghp_abcdefghijklmnopqrstuvwxyz012345",
    ])
    func credentialsAreRedacted(_ text: String) {
        let preview = InputPreview.make(text)
        #expect(preview.contains(InputPreview.redacted), "\(preview)")
        for secret in [
            "abcdef123456.token", "1234567890abcdefghij", "supersecretvalue", "hunter2hunter2", "0123456789abcdef0123",
            "ghp_abc",
        ] {
            #expect(!preview.contains(secret), "\(preview)")
        }
    }

    @Test func ordinaryTextIsKept() {
        #expect(
            InputPreview.make("Summarize the quarterly report in 3 bullet points")
                == "Summarize the quarterly report in 3 bullet points"
        )
    }

    @Test func aSecretCutAtTheBoundaryIsStillRedacted() {
        let text = String(repeating: "x ", count: 55) + "sk-abcdefghijklmnopqrstuvwxyz"
        #expect(!InputPreview.make(text).contains("sk-abc"))
    }
}
