import ArcanosCore
import ArcanosTesting
import Clocks
import Foundation
import Logging
import ServiceLifecycle
import ServiceLifecycleTestKit
import Synchronization
import Testing

/// The supervised pool with a `TestClock`: deadlines, heartbeats and backoff only move when a test advances.
struct PoolHarness: Sendable {
    let clock = TestClock()
    let store: any JobStore
    let signals = JobQueueSignals()
    let events = EventLog<WorkerPoolEvent>()
    let supervisor: WorkerSupervisor<TestClock<Duration>>
    let dispatcher: WorkerDispatcher

    /// The wall clock job dates come from; `Date()` unless a test moves it.
    let wallClock: @Sendable () -> Date

    init(
        store: any JobStore = InMemoryJobStore(),
        workerCount: Int = 2,
        restart: WorkerRestartPolicy = .init(initialBackoff: .zero, restartThreshold: 10),
        heartbeatTimeout: Duration = .seconds(5),
        modelWait: ModelWaitPolicy = .init(),
        wallClock: @escaping @Sendable () -> Date = Date.init,
        executor: any WorkerTaskExecuting
    ) {
        self.wallClock = wallClock
        self.store = store
        let configuration = WorkerPoolConfiguration(
            workerCount: workerCount,
            model: "test-model",
            leaseDuration: .seconds(30),
            heartbeatInterval: .seconds(1),
            heartbeatTimeout: heartbeatTimeout,
            pollInterval: .seconds(3600),
            restart: restart,
            retry: .init(initialDelay: .zero),
            modelWait: modelWait
        )
        self.supervisor = WorkerSupervisor(
            configuration: configuration,
            store: store,
            executor: executor,
            signals: self.signals,
            clock: self.clock,
            wallClock: wallClock,
            logger: Logger(label: "test") { _ in SwiftLogNoOpLogHandler() },
            onEvent: self.events.recorder
        )
        self.dispatcher = WorkerDispatcher(
            configuration: configuration,
            inventory: WorkerInventory(directory: "/nonexistent"),
            store: store,
            executor: executor,
            signals: self.signals,
            pool: self.supervisor,
            logger: Logger(label: "test") { _ in SwiftLogNoOpLogHandler() }
        )
    }

    /// Runs the supervisor for the duration of `body`, then shuts it down gracefully.
    func run(_ body: @Sendable (PoolHarness) async throws -> Void) async throws {
        try await testGracefulShutdown { trigger in
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { try await self.supervisor.run() }
                try await self.events.waitFor { if case .poolStarted = $0 { true } else { false } }
                try await body(self)
                trigger.triggerGracefulShutdown()
                try await group.waitForAll()
            }
        }
    }

    @discardableResult
    func enqueue(_ input: String, worker: String = "arcanos", maxAttempts: Int = 3) async throws -> Job {
        let job = try await self.store.enqueue(
            NewJob(worker: worker, input: input, maxAttempts: maxAttempts),
            now: self.wallClock()
        )
        self.signals.workAvailable()
        return job
    }

    func waitForJobs(_ count: Int, _ outcome: WorkerPoolEvent.JobOutcome) async throws {
        try await self.events.waitFor(count) {
            if case .jobFinished(_, _, let finished) = $0 { finished == outcome } else { false }
        }
    }

    func started(_ workerID: String, incarnation: Int) -> @Sendable (WorkerPoolEvent) -> Bool {
        { if case .workerStarted(workerID, incarnation) = $0 { true } else { false } }
    }
}

@Suite(.timeLimit(.minutes(1)))
struct WorkerSupervisorTests {
    @Test func eachTaskGoesToExactlyOneWorker() async throws {
        let runs = Mutex<[String: Int]>([:])
        let executor = ScriptedTaskExecutor { _, input in
            runs.withLock { $0[input, default: 0] += 1 }
            await Task.yield()
            return input.uppercased()
        }
        let harness = PoolHarness(workerCount: 4, executor: executor)
        try await harness.run { harness in
            for index in 0..<200 { try await harness.enqueue("task \(index)") }
            try await harness.waitForJobs(200, .succeeded)
        }
        #expect(runs.withLock { $0.count == 200 && $0.values.allSatisfy { $0 == 1 } })
        let workers = Set(
            harness.events.events.compactMap { if case .jobStarted(let id, _, _) = $0 { id } else { nil } }
        )
        #expect(workers.count > 1, "the queue is shared by the pool")
        let (runtime, supervisor) = harness.supervisor.status(now: Date())
        #expect(runtime.totalDispatched == 200 && runtime.lastError == nil)
        #expect(runtime.lastResult?.hasPrefix("TASK ") == true)
        #expect(supervisor.restarts == 0)
    }

    @Test("issue 16: a prompt task whose model fails is not a crash: no replacement, no storm, no attempt charged")
    func aModelOutageIsNotACrash() async throws {
        let provider = ScriptedLLMProvider(
            Array(repeating: .fail(LLMFailure(.serverError, statusCode: 500)), count: 12),
            whenEmpty: .answer("recovered")
        )
        let client = ResilientLLMClient(
            provider: provider,
            // A breaker that never opens here: its wait is real time, and this test is about the supervisor.
            configuration: .init(
                models: ["test-model"],
                retry: .init(maxAttempts: 1),
                breaker: .init(failureThreshold: 20)
            ),
            logger: Logger(label: "test") { _ in SwiftLogNoOpLogHandler() }
        )
        let executor = ModuleTaskExecutor(
            inventory: WorkerInventory(directory: "/nonexistent"),
            clients: WorkerModelClients(primary: client) { _ in client },
            poolModel: "test-model"
        )
        // Three restarts in the window would be a storm: twelve model failures must not come near it.
        let harness = PoolHarness(
            workerCount: 1,
            restart: .init(initialBackoff: .zero, restartThreshold: 3),
            executor: executor
        )
        try await harness.run { harness in
            let job = try await harness.enqueue("hello", maxAttempts: 1)
            try await harness.waitForJobs(1, .succeeded)
            let stored = try #require(try await harness.store.job(id: job.id))
            #expect(stored.status == .succeeded && stored.result == "recovered" && stored.attempts == 1)
            #expect(harness.events.count(where: harness.started("arcanos-worker-1", incarnation: 2)) == 0)
        }
        #expect(harness.events.count { if case .jobFinished(_, _, .deferred) = $0 { true } else { false } } >= 1)
        let (runtime, supervisor) = harness.supervisor.status(now: Date())
        #expect(supervisor.state != .unsafe && supervisor.storms == 0)
        #expect(supervisor.restarts == 0 && supervisor.crashes == 0 && supervisor.hangs == 0)
        #expect(runtime.lastError == nil, "a later success clears the last error")
        #expect(runtime.lastResult == "recovered" && runtime.lastInputPreview == "hello")
    }

    @Test("issue 16: while the model's breaker is open, prompt jobs wait uncharged and command jobs keep running")
    func commandJobsRunWhilePromptJobsWaitForTheModel() async throws {
        let executor = ScriptedTaskExecutor(workers: ["arcanos", "echo"]) { worker, input in
            guard worker == "echo" else {
                throw ArcanosError(
                    .circuitOpen,
                    "The model is temporarily disabled after repeated failures",
                    retryAfter: .seconds(600),
                    underlying: LLMFailure(.circuitOpen, retryAfter: .seconds(600))
                )
            }
            return "echo: \(input)"
        }
        let harness = PoolHarness(
            workerCount: 2,
            restart: .init(initialBackoff: .zero, restartThreshold: 1),
            executor: executor
        )
        try await harness.run { harness in
            var prompts: [Job] = []
            for index in 0..<5 { prompts.append(try await harness.enqueue("prompt \(index)")) }
            for index in 0..<5 { try await harness.enqueue("command \(index)", worker: "echo") }
            try await harness.waitForJobs(5, .succeeded)
            try await harness.waitForJobs(5, .deferred)
            let now = Date()
            for prompt in prompts {
                let stored = try #require(try await harness.store.job(id: prompt.id))
                #expect(stored.status == .queued && stored.attempts == 0)
                #expect(stored.availableAt > now.addingTimeInterval(500), "held back for the breaker's wait")
                #expect(stored.error?.contains("waiting for the model") == true)
            }
        }
        let supervisor = harness.supervisor.status(now: Date()).supervisor
        #expect(supervisor.state != .unsafe && supervisor.crashes == 0 && supervisor.restarts == 0)
        #expect(harness.events.count(where: { if case .workerStarted = $0 { true } else { false } }) == 2)
    }

    @Test("issue 16: a job still waiting for the model after JOB_MODEL_WAIT_MS fails, saying so")
    func aJobThatWaitedTooLongForTheModelFails() async throws {
        let wall = Mutex(Date(timeIntervalSince1970: 1_800_000_000))
        let calls = Mutex(0)
        let executor = ScriptedTaskExecutor { _, _ in
            // The third try comes after the wait is over.
            let call = calls.withLock { count in
                count += 1
                return count
            }
            if call == 3 { wall.withLock { $0 += 61 } }
            throw ArcanosError(.llmUnavailable, "The model is unavailable", underlying: LLMFailure(.timeout))
        }
        let harness = PoolHarness(
            workerCount: 1,
            modelWait: .init(maximumWait: .seconds(60)),
            wallClock: { wall.withLock { $0 } },
            executor: executor
        )
        try await harness.run { harness in
            let job = try await harness.enqueue("patience", maxAttempts: 1)
            try await harness.waitForJobs(1, .failed)
            let stored = try #require(try await harness.store.job(id: job.id))
            #expect(stored.status == .failed && stored.attempts == 1)
            #expect(stored.error == "the model was unavailable for longer than JOB_MODEL_WAIT_MS (60000 ms)")
        }
        #expect(calls.withLock { $0 } == 3)
        #expect(harness.events.count { if case .jobFinished(_, _, .deferred) = $0 { true } else { false } } == 2)
        #expect(harness.supervisor.status(now: Date()).supervisor.crashes == 0)
    }

    @Test("issue 16: a request the model rejects is charged an attempt, but the worker is not replaced")
    func aRejectedModelRequestIsChargedButNotACrash() async throws {
        let executor = ScriptedTaskExecutor { _, _ in
            throw ArcanosError(.llmUnavailable, "The model is unavailable", underlying: LLMFailure(.rejected))
        }
        let harness = PoolHarness(workerCount: 1, executor: executor)
        try await harness.run { harness in
            let job = try await harness.enqueue("bad request", maxAttempts: 2)
            try await harness.waitForJobs(1, .failed)
            let stored = try #require(try await harness.store.job(id: job.id))
            #expect(stored.status == .failed && stored.attempts == 2)
        }
        #expect(harness.supervisor.status(now: Date()).supervisor.crashes == 0)
        #expect(harness.events.count(where: { if case .workerStarted = $0 { true } else { false } }) == 1)
    }

    @Test(arguments: [
        ("exits 1", "exit 1"),
        ("is killed with SIGKILL", "kill -9 $$"),
    ])
    func aCommandWorkerThatCrashesIsReplacedAndItsTaskRetried(_ name: String, _ crash: String) async throws {
        let directory = try Directory()
        defer { directory.remove() }
        // Crashes on the first attempt only (it leaves a marker), then answers.
        let script =
            "if [ -e \(directory.path)/marker ]; then tr a-z A-Z; else touch \(directory.path)/marker; \(crash); fi"
        try directory.write(
            "flaky.json",
            #"{"id":"flaky","kind":"command","command":["/bin/sh","-c",\#(Self.json(script))],"retries":1}"#
        )
        let executor = ModuleTaskExecutor(
            inventory: WorkerInventory(directory: directory.path),
            clients: WorkerModelClients(primary: Self.unconfiguredClient) { _ in Self.unconfiguredClient },
            poolModel: "test-model"
        )
        let harness = PoolHarness(workerCount: 1, executor: executor)
        try await harness.run { harness in
            let job = try await harness.enqueue("retry me", worker: "flaky", maxAttempts: 2)
            try await harness.waitForJobs(1, .succeeded)
            let stored = try #require(try await harness.store.job(id: job.id))
            #expect(stored.status == .succeeded && stored.result == "RETRY ME" && stored.attempts == 2)
        }
        #expect(harness.events.count(where: harness.started("arcanos-worker-1", incarnation: 2)) == 1)
        let supervisor = harness.supervisor.status(now: Date()).supervisor
        #expect(supervisor.restarts == 1 && supervisor.crashes == 1)
    }

    @Test func aHungCommandIsKilledAndReplacedWithinItsDeadlinePlusOneHeartbeat() async throws {
        let directory = try Directory()
        defer { directory.remove() }
        try directory.write(
            "sleepy.json",
            #"{"id":"sleepy","kind":"command","command":["/bin/sh","-c","sleep 30; echo late"],"timeout":2000,"retries":0}"#
        )
        let executor = ModuleTaskExecutor(
            inventory: WorkerInventory(directory: directory.path),
            clients: WorkerModelClients(primary: Self.unconfiguredClient) { _ in Self.unconfiguredClient },
            poolModel: "test-model"
        )
        let harness = PoolHarness(workerCount: 1, executor: executor)
        try await harness.run { harness in
            let job = try await harness.enqueue("zzz", worker: "sleepy", maxAttempts: 1)
            try await harness.events.waitFor { if case .jobStarted = $0 { true } else { false } }
            let killedAt = ContinuousClock.now
            // Deadline 2 s, heartbeats every 1 s: the hang must be caught by the check at +2 s or +3 s.
            for _ in 0..<3 {
                await harness.clock.waitForSleeper()
                await harness.clock.advance(by: .seconds(1))
            }
            let hung = try await harness.events.waitFor { if case .workerHung = $0 { true } else { false } }
            guard case .workerHung(_, let reason, let overdue) = try #require(hung.first) else {
                Issue.record("expected a workerHung event, got \(hung)")
                return
            }
            #expect(reason == .deadlineExceeded)
            #expect(overdue <= .seconds(1), "detected within one heartbeat of the deadline")
            try await harness.events.waitFor(where: harness.started("arcanos-worker-1", incarnation: 2))
            // The old worker's task ends only once its process group is gone: long before `sleep 30` would.
            try await harness.events.waitFor {
                if case .workerStopped("arcanos-worker-1", 1) = $0 { true } else { false }
            }
            // Far below the 30 s `sleep 30` would take, with room for a test run that loads both cores.
            #expect(killedAt.duration(to: .now) < .seconds(20))
            try await harness.waitForJobs(1, .failed)
            let stored = try #require(try await harness.store.job(id: job.id))
            #expect(stored.status == .failed && stored.error == "the worker hung (deadline_exceeded)")
        }
        let supervisor = harness.supervisor.status(now: Date()).supervisor
        #expect(supervisor.hangs == 1 && supervisor.restarts == 1)
    }

    @Test func aWorkerWhoseHeartbeatsStopIsReplaced() async throws {
        let gate = Gate()
        let store = StallingHeartbeatStore(InMemoryJobStore())
        let executor = ScriptedTaskExecutor(timeout: .seconds(600)) { _, _ in
            try await gate.wait()
            return "never"
        }
        let harness = PoolHarness(store: store, workerCount: 1, heartbeatTimeout: .seconds(5), executor: executor)
        try await harness.run { harness in
            try await harness.enqueue("stuck")
            try await harness.events.waitFor { if case .jobStarted = $0 { true } else { false } }
            for _ in 0..<7 {
                await harness.clock.waitForSleeper()
                await harness.clock.advance(by: .seconds(1))
            }
            let hung = try await harness.events.waitFor { if case .workerHung = $0 { true } else { false } }
            guard case .workerHung(_, let reason, let overdue) = try #require(hung.first) else {
                Issue.record("expected a workerHung event, got \(hung)")
                return
            }
            #expect(reason == .missedHeartbeats)
            #expect(overdue <= .seconds(1))
            try await harness.events.waitFor(where: harness.started("arcanos-worker-1", incarnation: 2))
            // The hung attempt is charged and retried by the replacement (whose heartbeats stall too).
            try await harness.events.waitFor(2) { if case .jobStarted = $0 { true } else { false } }
            store.releaseStalls()
        }
    }

    /// Two workers, a guard that trips on the fourth restart within a minute, and ten jobs whose tasks crash
    /// while `crashes()` says so: `body` runs once the storm has tripped the guard, five jobs still queued.
    @discardableResult
    func afterAStorm(
        quietPeriod: Duration,
        crashes: @escaping @Sendable () -> Bool = { true },
        _ body: @Sendable (PoolHarness) async throws -> Void
    ) async throws -> PoolHarness {
        struct Boom: Error {}
        let executor = ScriptedTaskExecutor(maxAttempts: 1) { _, input in
            if crashes() { throw Boom() }
            return input
        }
        let harness = PoolHarness(
            workerCount: 2,
            restart: .init(
                initialBackoff: .zero,
                restartThreshold: 3,
                restartWindow: .seconds(60),
                quietPeriod: quietPeriod
            ),
            executor: executor
        )
        try await harness.run { harness in
            for index in 0..<10 { try await harness.enqueue("job \(index)", maxAttempts: 1) }
            try await harness.events.waitFor(2) { if case .stormGuardTripped = $0 { true } else { false } }
            try await body(harness)
        }
        return harness
    }

    @Test func aRestartStormMarksThePoolUnsafeAndStopsRestarting() async throws {
        try await self.afterAStorm(quietPeriod: .seconds(3600)) { harness in
            let (runtime, supervisor) = harness.supervisor.status(now: Date())
            #expect(supervisor.state == .unsafe && supervisor.stormGuardTripped)
            #expect(supervisor.restarts == 3 && supervisor.crashes == 5 && supervisor.storms == 1)
            #expect(supervisor.deadWorkers == ["arcanos-worker-1", "arcanos-worker-2"])
            #expect(runtime.activeListeners == 0 && runtime.lastError == "the task failed")
            // 2 first workers + 3 replacements, and nothing more until the quiet period is over.
            await harness.clock.advance(by: .seconds(120))
            #expect(harness.events.count(where: { if case .workerStarted = $0 { true } else { false } }) == 5)
            let queue = try await harness.store.stats(now: Date())
            #expect(queue.depth == 5, "the tasks nobody could run are still queued")
        }
    }

    /// Steps the test clock one heartbeat at a time until `event` is logged (at most 120 s).
    func advance(_ harness: PoolHarness, until event: @escaping @Sendable (WorkerPoolEvent) -> Bool) async throws {
        for _ in 0..<120 where harness.events.count(where: event) == 0 {
            await harness.clock.waitForSleeper()
            await harness.clock.advance(by: .seconds(1))
            await Task.yield()
        }
        try await harness.events.waitFor(where: event)
    }

    @Test("issue 16: an unsafe pool restarts itself on probation after its quiet period, no operator needed")
    func anUnsafePoolProbesItselfAfterItsQuietPeriod() async throws {
        let crashing = Mutex(true)
        try await self.afterAStorm(quietPeriod: .seconds(10), crashes: { crashing.withLock { $0 } }) { harness in
            let unsafe = harness.supervisor.status(now: Date()).supervisor
            #expect(unsafe.state == .unsafe && unsafe.quietPeriodMs == 10_000 && unsafe.nextProbeAt != nil)
            // The cause went away (a poison job failed for good, a dependency came back): the probe finds out.
            crashing.withLock { $0 = false }
            try await self.advance(harness) { if case .poolStarted(generation: 2) = $0 { true } else { false } }
            try await harness.waitForJobs(5, .succeeded)
            let recovered = harness.supervisor.status(now: Date()).supervisor
            #expect(recovered.state == .running && recovered.onProbation == true && recovered.nextProbeAt == nil)
            #expect(recovered.poolRestarts == 1 && recovered.storms == 1)
        }
    }

    @Test("issue 16: a probe that crashes again makes the pool unsafe again, with a doubled quiet period")
    func aFailedProbeDoublesTheQuietPeriod() async throws {
        try await self.afterAStorm(quietPeriod: .seconds(10)) { harness in
            try await self.advance(harness) { if case .poolStarted(generation: 2) = $0 { true } else { false } }
            // Both probing workers crash at once: each failure on probation trips the guard again.
            try await harness.events.waitFor(4) { if case .stormGuardTripped = $0 { true } else { false } }
            let again = harness.supervisor.status(now: Date()).supervisor
            #expect(again.state == .unsafe && again.quietPeriodMs == 20_000 && again.storms == 2)
            #expect(again.onProbation == false && again.poolRestarts == 1)
        }
    }

    @Test func consecutiveCrashesOfOneSlotBackOff() async throws {
        struct Boom: Error {}
        let executor = ScriptedTaskExecutor(maxAttempts: 1) { _, _ in throw Boom() }
        let harness = PoolHarness(
            workerCount: 1,
            restart: .init(initialBackoff: .seconds(10), maximumBackoff: .seconds(10)),
            executor: executor
        )
        try await harness.run { harness in
            for index in 0..<3 { try await harness.enqueue("crash \(index)", maxAttempts: 1) }
            // First crash: replaced at once. Second: waits at least half the 10 s backoff (jitter).
            try await harness.events.waitFor(where: harness.started("arcanos-worker-1", incarnation: 3 - 1))
            try await harness.events.waitFor(2) { if case .workerCrashed = $0 { true } else { false } }
            await harness.clock.waitForSleeper()
            await harness.clock.advance(by: .seconds(4))
            #expect(harness.events.count(where: harness.started("arcanos-worker-1", incarnation: 3)) == 0)
            await harness.clock.advance(by: .seconds(6))
            try await harness.events.waitFor(where: harness.started("arcanos-worker-1", incarnation: 3))
        }
    }

    @Test func restartUnderLoadCompletesEveryTaskExactlyOnce() async throws {
        let executor = ScriptedTaskExecutor { _, input in
            for _ in 0..<20 {
                try Task.checkCancellation()
                await Task.yield()
            }
            return "done \(input)"
        }
        let harness = PoolHarness(workerCount: 4, executor: executor)
        try await harness.run { harness in
            for index in 0..<300 { try await harness.enqueue("task \(index)") }
            try await harness.waitForJobs(50, .succeeded)
            // Concurrent callers share one restart.
            let summaries = await withTaskGroup(of: StartWorkersSummary.self) { group in
                for _ in 0..<3 { group.addTask { await harness.supervisor.restart() } }
                return await group.reduce(into: []) { $0.append($1) }
            }
            #expect(Set(summaries).count == 1)
            let summary = try #require(summaries.first)
            #expect(summary.started && summary.runWorkers && summary.workerCount == 4 && !summary.alreadyRunning)
            #expect(summary.workerIds == (1...4).map { "arcanos-worker-\($0)" } && summary.model == "test-model")
            try await harness.waitForJobs(150, .succeeded)
            _ = await harness.supervisor.restart()
            try await harness.waitForJobs(300, .succeeded)
        }
        let completions = harness.events.events.compactMap { event -> String? in
            if case .jobFinished(_, let id, .succeeded) = event { id } else { nil }
        }
        #expect(completions.count == 300 && Set(completions).count == 300, "every task completed, none twice")
        let handedBack = harness.events.count(where: {
            if case .jobFinished(_, _, .released) = $0 { true } else { false }
        })
        #expect(handedBack > 0, "the restarts found work in flight and handed it back")
        let supervisor = harness.supervisor.status(now: Date()).supervisor
        #expect(supervisor.poolRestarts == 2 && supervisor.restarts == 0)
        let queue = try await harness.store.stats(now: Date())
        #expect(queue.depth == 0 && queue.inFlight == 0)
    }

    @Test func aDisabledPoolRunsTasksInlineAndIsNeverRestarted() async throws {
        let executor = ScriptedTaskExecutor { _, input in input.uppercased() }
        let configuration = WorkerPoolConfiguration(enabled: false, model: "m")
        let supervisor = WorkerSupervisor(
            configuration: configuration,
            store: InMemoryJobStore(),
            executor: executor,
            signals: JobQueueSignals(),
            clock: TestClock(),
            logger: Logger(label: "test") { _ in SwiftLogNoOpLogHandler() }
        )
        let dispatcher = WorkerDispatcher(
            configuration: configuration,
            inventory: WorkerInventory(directory: "/nonexistent"),
            store: InMemoryJobStore(),
            executor: executor,
            signals: JobQueueSignals(),
            pool: supervisor,
            logger: Logger(label: "test") { _ in SwiftLogNoOpLogHandler() }
        )
        let summary = await supervisor.restart()
        #expect(!summary.started && !summary.runWorkers && summary.workerIds.isEmpty)
        let outcome = try await dispatcher.run(worker: "arcanos", input: "inline")
        #expect(outcome.success && outcome.result == "INLINE" && outcome.jobId == nil)
        let (runtime, status) = supervisor.status(now: Date())
        #expect(!runtime.enabled && runtime.totalDispatched == 1 && runtime.lastResult == "INLINE")
        #expect(status.state == .disabled)
        try await testGracefulShutdown { trigger in
            trigger.triggerGracefulShutdown()
            try await supervisor.run()  // returns: nothing to supervise
        }
    }

    @Test func dispatchWaitsForTheResultOfItsTask() async throws {
        let executor = ScriptedTaskExecutor(workers: ["arcanos", "echo"]) { worker, input in "\(worker): \(input)" }
        let harness = PoolHarness(executor: executor)
        try await harness.run { harness in
            let outcome = try await harness.dispatcher.run(worker: "echo", input: "ping")
            #expect(outcome.success && outcome.result == "echo: ping" && outcome.jobId != nil)
            await #expect(throws: ArcanosError.self) { try await harness.dispatcher.run(worker: "nobody", input: "x") }
            await #expect(throws: ArcanosError.self) { try await harness.dispatcher.run(worker: "../x", input: "x") }
            await #expect(throws: ArcanosError.self) { try await harness.dispatcher.run(worker: "echo", input: "  ") }
            let report = await harness.dispatcher.report(now: Date())
            #expect(report.poolStatus == "Active" && report.queue?.depth == 0 && report.runtime.activeListeners == 2)
        }
    }

    static let unconfiguredClient = ResilientLLMClient(
        provider: nil,
        configuration: .init(models: ["test-model"]),
        logger: Logger(label: "test") { _ in SwiftLogNoOpLogHandler() }
    )

    static func json(_ string: String) -> String {
        String(decoding: try! JSONEncoder().encode(string), as: UTF8.self)
    }
}

/// Blocks until cancelled.
struct Gate: Sendable {
    func wait() async throws {
        while true { try await Task.sleep(for: .seconds(3600)) }
    }
}
