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

    @Test func moreRestartsThanTheThresholdWithinTheWindowTripTheStormGuardForGood() {
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
        // Sticky: no restart even once the window has passed, until the pool is restarted on purpose.
        #expect(machine.workerFailed(slot: 0, cause: .crash, now: self.start + .seconds(60), jitter: 0) == .stop)
        #expect(machine.storms == 1)
        machine.poolRestarted()
        #expect(!machine.isUnsafe)
        #expect(
            machine.workerFailed(slot: 0, cause: .crash, now: self.start + .seconds(61), jitter: 0)
                == .restart(after: .zero)
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
