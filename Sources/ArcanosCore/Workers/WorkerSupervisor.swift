import Foundation
import Logging
import ServiceLifecycle
import Synchronization

/// Runs the core pool: `workerCount` workers consuming the one job queue, each watched. A worker that crashes
/// is replaced at once, then with jittered backoff; a hung one (past its task deadline or silent) is cancelled,
/// its command killed, and replaced; a restart storm stops the replacing and marks the pool unsafe.
/// `restart()` swaps the whole pool, handing in-flight jobs back to the queue.
///
/// Generic over its clock so tests drive deadlines, heartbeats and backoff with a `TestClock`; job dates come
/// from `wallClock` (they are persisted and compared across processes).
public final class WorkerSupervisor<C: Clock>: Service, WorkerPoolControlling where C.Duration == Duration {
    public let configuration: WorkerPoolConfiguration
    private let store: any JobStore
    private let executor: any WorkerTaskExecuting
    private let signals: JobQueueSignals
    private let clock: C
    private let wallClock: @Sendable () -> Date
    private let logger: Logger
    private let onEvent: (@Sendable (WorkerPoolEvent) -> Void)?
    private let detector: WorkerHangDetector
    private let state: Mutex<State>

    public init(
        configuration: WorkerPoolConfiguration,
        store: any JobStore,
        executor: any WorkerTaskExecuting,
        signals: JobQueueSignals,
        clock: C,
        wallClock: @escaping @Sendable () -> Date = Date.init,
        logger: Logger,
        onEvent: (@Sendable (WorkerPoolEvent) -> Void)? = nil
    ) {
        self.configuration = configuration
        self.store = store
        self.executor = executor
        self.signals = signals
        self.clock = clock
        self.wallClock = wallClock
        self.logger = logger
        self.onEvent = onEvent
        self.detector = WorkerHangDetector(heartbeatTimeout: configuration.heartbeatTimeout)
        self.state = Mutex(State(configuration: configuration, now: clock.now))
    }

    // MARK: State

    private enum Phase: Equatable {
        case starting, idle, claiming, busy, restarting, dead, stopped
        case hung(WorkerHangReason)

        var isAlive: Bool {
            switch self {
            case .starting, .idle, .claiming, .busy: true
            case .restarting, .dead, .stopped, .hung: false
            }
        }
    }

    private struct ActiveJob {
        var lease: JobLease
        var plan: WorkerTaskPlan
        var startedAt: C.Instant
        var deadline: C.Instant
    }

    private enum Exit: Sendable {
        /// Stopped on purpose (restart, shutdown) or returned on its own.
        case stopped
        case crashed(String)
        case hung(WorkerHangReason)
    }

    private struct Slot {
        let workerID: String
        var incarnation = 0
        var phase = Phase.stopped
        var lastHeartbeat: C.Instant
        var job: ActiveJob?
        var task: Task<Void, Never>?
        var exit: OneShot<Exit>?
        var restarts = 0
    }

    private struct State {
        var machine: WorkerRestartStateMachine<C.Instant>
        var runtime: WorkerRuntimeStatus
        var slots: [Slot]
        var generation = 0
        var generationStop: OneShot<Void>?
        var pendingRestart: OneShot<StartWorkersSummary>?
        var resetStormGuardOnRestart = false
        var poolRestarts = 0
        var lastPoolRestartAt: Date?
        var unsafeSince: Date?
        var running = false
        var shuttingDown = false

        init(configuration: WorkerPoolConfiguration, now: C.Instant) {
            self.machine = .init(configuration: configuration.restart)
            self.runtime = WorkerRuntimeStatus(
                enabled: configuration.enabled,
                model: configuration.model,
                configuredCount: configuration.workerCount,
                workerIds: []
            )
            self.slots = configuration.workerIds.map { Slot(workerID: $0, lastHeartbeat: now) }
        }

        /// Latest input, result and error, unredacted and cut to a bounded prefix: redaction (regular
        /// expressions) runs when status is read, not on every task.
        var lastInput: String?
        var lastResult: String?
        var lastError: String?

        mutating func recordDispatch(input: String, now: Date) {
            self.runtime.totalDispatched += 1
            self.runtime.lastDispatchAt = now
            self.lastInput = String(input.prefix(InputPreview.maximumLength * 4))
        }

        mutating func recordSuccess(result: String) {
            self.lastResult = String(result.prefix(InputPreview.maximumLength * 4))
            self.lastError = nil
        }

        mutating func recordFailure(_ message: String) {
            self.lastError = String(message.prefix(InputPreview.maximumLength * 4))
        }

        /// The runtime status with its previews redacted.
        var runtimeStatus: WorkerRuntimeStatus {
            var runtime = self.runtime
            runtime.lastInputPreview = self.lastInput.map { InputPreview.make($0) }
            runtime.lastResult = self.lastResult.map { InputPreview.make($0) }
            runtime.lastError = self.lastError.map { InputPreview.make($0) }
            return runtime
        }

        mutating func refreshListeners() {
            let alive = self.slots.filter { $0.phase.isAlive }
            self.runtime.activeListeners = alive.count
            self.runtime.workerIds = alive.map(\.workerID)
        }
    }

    // MARK: Service

    public func run() async throws {
        guard self.configuration.enabled, self.configuration.workerCount > 0 else {
            // Disabled: tasks run inline and nothing is supervised; stay up so the group's order holds.
            self.logger.info("worker pool disabled: tasks run inline", metadata: ["workers.enabled": "false"])
            try? await gracefulShutdown()
            return
        }
        await withGracefulShutdownHandler {
            await withTaskCancellationHandler {
                while let generation = self.beginGeneration() {
                    await self.runGeneration(generation)
                }
            } onCancel: {
                self.shutDown()
            }
        } onGracefulShutdown: {
            self.shutDown()
        }
        let pending = self.state.withLock { state -> OneShot<StartWorkersSummary>? in
            state.running = false
            state.runtime.started = false
            state.refreshListeners()
            defer { state.pendingRestart = nil }
            return state.pendingRestart
        }
        pending?.resolve(self.summary(started: false, message: "The worker pool is shutting down"))
        self.logger.info("worker pool stopped")
    }

    private struct Generation: Sendable {
        var number: Int
        var stop: OneShot<Void>
    }

    /// Starts the next generation of the pool, or returns nil when shutting down.
    private func beginGeneration() -> Generation? {
        let now = self.wallClock()
        let begun = self.state.withLock { state -> (Generation, OneShot<StartWorkersSummary>?)? in
            guard !state.shuttingDown else { return nil }
            let isRestart = state.generation > 0
            state.generation += 1
            let stop = OneShot<Void>()
            state.generationStop = stop
            // A heal without `force`, or the supervisor's own probe, restarts an unsafe pool on probation.
            state.machine.poolRestarted(
                resetStormGuard: state.resetStormGuardOnRestart || !isRestart,
                now: self.clock.now
            )
            if !state.machine.isUnsafe { state.unsafeSince = nil }
            state.resetStormGuardOnRestart = false
            if isRestart {
                state.poolRestarts += 1
                state.lastPoolRestartAt = now
            }
            state.running = true
            state.runtime.started = true
            state.runtime.startedAt = now
            let pending = state.pendingRestart
            state.pendingRestart = nil
            return (Generation(number: state.generation, stop: stop), pending)
        }
        guard let (generation, pending) = begun else { return nil }
        self.logger.info(
            "worker pool started",
            metadata: [
                "workers.count": "\(self.configuration.workerCount)", "workers.generation": "\(generation.number)",
                "workers.model": "\(self.configuration.model)",
            ]
        )
        self.onEvent?(.poolStarted(generation: generation.number))
        pending?.resolve(
            self.summary(
                started: true,
                message:
                    "Worker pool restarted: \(self.configuration.workerCount) workers on \(self.configuration.model)"
            )
        )
        return generation
    }

    private struct GenerationEnded: Error {}

    private func runGeneration(_ generation: Generation) async {
        // A child throwing cancels the others: that is how a restart or shutdown ends the generation.
        try? await withThrowingDiscardingTaskGroup { group in
            for slot in 0..<self.configuration.workerCount {
                group.addTask { await self.supervise(slot: slot) }
            }
            group.addTask { await self.monitor() }
            group.addTask {
                await generation.stop.value
                throw GenerationEnded()
            }
        }
    }

    private func shutDown() {
        let stop = self.state.withLock { state -> OneShot<Void>? in
            state.shuttingDown = true
            return state.generationStop
        }
        stop?.resolve(())
    }

    // MARK: Restart

    public func restart(resetStormGuard: Bool = true) async -> StartWorkersSummary {
        guard self.configuration.enabled, self.configuration.workerCount > 0 else {
            return self.summary(
                started: false,
                message: "RUN_WORKERS=false: the worker pool is disabled and tasks run inline; nothing was restarted"
            )
        }
        let joined = self.state.withLock { state -> (OneShot<StartWorkersSummary>, OneShot<Void>?)? in
            guard !state.shuttingDown else { return nil }
            if resetStormGuard { state.resetStormGuardOnRestart = true }
            if let pending = state.pendingRestart { return (pending, nil) }
            let pending = OneShot<StartWorkersSummary>()
            state.pendingRestart = pending
            return (pending, state.generationStop)
        }
        guard let (pending, stop) = joined else {
            return self.summary(started: false, message: "The worker pool is shutting down; nothing was restarted")
        }
        if let stop {
            self.logger.notice("worker pool restart requested")
            stop.resolve(())
        }
        return await pending.value
    }

    private func summary(started: Bool, message: String) -> StartWorkersSummary {
        let runtime = self.state.withLock { $0.runtime }  // no previews needed
        return StartWorkersSummary(
            started: started,
            alreadyRunning: false,
            runWorkers: self.configuration.enabled,
            workerCount: self.configuration.workerCount,
            workerIds: self.configuration.enabled ? self.configuration.workerIds : [],
            model: self.configuration.model,
            startedAt: started ? runtime.startedAt : nil,
            message: message
        )
    }

    // MARK: Supervision

    private func supervise(slot index: Int) async {
        while !Task.isCancelled {
            let exit = OneShot<Exit>()
            let incarnation = self.state.withLock { state -> Int in
                state.slots[index].incarnation += 1
                state.slots[index].phase = .starting
                state.slots[index].lastHeartbeat = self.clock.now
                state.slots[index].job = nil
                state.slots[index].exit = exit
                state.refreshListeners()
                return state.slots[index].incarnation
            }
            let workerID = self.configuration.workerIds[index]
            // Unstructured on purpose: a worker stuck in code that ignores cancellation must not keep its
            // replacement from starting. Fencing keeps such a straggler from writing anything.
            let task = Task {
                // Emitted from inside the worker's task: the replacement is running and about to claim.
                self.onEvent?(.workerStarted(workerID: workerID, incarnation: incarnation))
                await self.work(slot: index, incarnation: incarnation, exit: exit)
                self.onEvent?(.workerStopped(workerID: workerID, incarnation: incarnation))
            }
            self.state.withLock { $0.slots[index].task = task }

            let outcome = await withTaskCancellationHandler {
                await exit.value
            } onCancel: {
                exit.resolve(.stopped)
            }
            task.cancel()
            let leftover = self.takeJob(slot: index, incarnation: incarnation)

            let cause: WorkerRestartStateMachine<C.Instant>.Cause
            switch outcome {
            case .stopped:
                if let leftover {
                    await self.settle(leftover.lease) { store, lease, now in
                        if try await store.release(lease, now: now) == .applied {
                            self.signals.workAvailable()
                        }
                    }
                    self.onEvent?(.jobFinished(workerID: workerID, jobID: leftover.lease.jobID, outcome: .released))
                }
                self.setPhase(.stopped, slot: index, incarnation: incarnation)
                if Task.isCancelled { return }
                // A worker only stops by itself when its task was cancelled from outside; treat it as a crash.
                cause = .crash
            case .crashed(let message):
                self.logger.error("worker crashed", metadata: ["worker.id": "\(workerID)", "error": "\(message)"])
                self.onEvent?(.workerCrashed(workerID: workerID))
                if let leftover { await self.failAndRetry(leftover.lease, message: message, workerID: workerID) }
                cause = .crash
            case .hung(let reason):
                if let leftover {
                    await self.failAndRetry(
                        leftover.lease,
                        message: "the worker hung (\(reason.rawValue))",
                        workerID: workerID
                    )
                }
                cause = .hang
            }

            let decision = self.state.withLock { state in
                let decision = state.machine.workerFailed(
                    slot: index,
                    cause: cause,
                    now: self.clock.now,
                    jitter: Double.random(in: 0...1)
                )
                switch decision {
                case .restart:
                    state.slots[index].restarts += 1
                    if case .hung = state.slots[index].phase {} else { state.slots[index].phase = .restarting }
                case .stop:
                    state.slots[index].phase = .dead
                    if state.unsafeSince == nil { state.unsafeSince = self.wallClock() }
                }
                state.refreshListeners()
                return decision
            }
            switch decision {
            case .restart(let delay):
                self.logger.notice(
                    "replacing worker",
                    metadata: ["worker.id": "\(workerID)", "worker.backoff_ms": "\(delay.milliseconds)"]
                )
                if delay > .zero {
                    do { try await self.clock.sleep(for: delay) } catch { return }
                }
            case .stop:
                self.logger.critical(
                    "restart storm: worker pool unsafe, no more restarts",
                    metadata: [
                        "worker.id": "\(workerID)",
                        "workers.restart_threshold": "\(self.configuration.restart.restartThreshold)",
                        "workers.restart_window_ms": "\(self.configuration.restart.restartWindow.milliseconds)",
                    ]
                )
                self.onEvent?(.stormGuardTripped(workerID: workerID))
                return
            }
        }
    }

    /// Charges the attempt: the job is retried after the retry policy's backoff while attempts remain.
    private func failAndRetry(_ lease: JobLease, message: String, workerID: String) async {
        let delay = self.configuration.retry.delay(afterAttempt: lease.attempt, jitter: Double.random(in: 0...1))
        await self.fail(lease, message: message, retryAfter: delay, workerID: workerID)
    }

    /// Charges the attempt; with `retryAfter` nil the job fails for good.
    private func fail(_ lease: JobLease, message: String, retryAfter: Duration?, workerID: String) async {
        await self.settle(lease) { store, lease, now in
            let outcome = try await store.fail(lease, error: message, retryAfter: retryAfter, now: now)
            self.afterFailure(outcome, jobID: lease.jobID, workerID: workerID, retryDelay: retryAfter ?? .zero)
        }
        self.state.withLock { $0.recordFailure(message) }
    }

    /// The model is unavailable: the job goes back to the queue uncharged, held back until the model may answer
    /// again, or fails once it has waited `JOB_MODEL_WAIT_MS` since it was enqueued.
    private func waitForModel(_ lease: JobLease, message: String, retryAfter: Duration?, workerID: String) async {
        let backoff = self.configuration.retry.delay(afterAttempt: 1, jitter: Double.random(in: 0...1))
        let decision = self.configuration.modelWait.decide(
            job: lease.job,
            retryAfter: retryAfter,
            backoff: backoff,
            now: self.wallClock()
        )
        switch decision {
        case .wait(let delay):
            self.logger.info(
                "model unavailable: job waits for it",
                metadata: [
                    "job.id": "\(lease.jobID)", "worker.id": "\(workerID)",
                    "job.retry_after_ms": "\(delay.milliseconds)",
                ]
            )
            await self.settle(lease) { store, lease, now in
                let outcome = try await store.release(
                    lease,
                    retryAfter: delay,
                    error: "\(message); waiting for the model",
                    now: now
                )
                if outcome == .applied, delay == .zero { self.signals.workAvailable() }
                self.onEvent?(
                    .jobFinished(
                        workerID: workerID,
                        jobID: lease.jobID,
                        outcome: outcome == .applied ? .deferred : .fenced
                    )
                )
            }
            self.state.withLock { $0.recordFailure(message) }
        case .giveUp(let reason):
            await self.fail(lease, message: reason, retryAfter: nil, workerID: workerID)
        }
    }

    private func afterFailure(_ outcome: JobFailOutcome, jobID: String, workerID: String, retryDelay: Duration) {
        switch outcome {
        case .retrying:
            if retryDelay == .zero { self.signals.workAvailable() }
            self.onEvent?(.jobFinished(workerID: workerID, jobID: jobID, outcome: .retrying))
        case .failed:
            self.signals.jobFinished(id: jobID)
            self.onEvent?(.jobFinished(workerID: workerID, jobID: jobID, outcome: .failed))
        case .fenced:
            self.onEvent?(.jobFinished(workerID: workerID, jobID: jobID, outcome: .fenced))
        }
    }

    /// Runs a store write for a lease outside the current task's cancellation: settling a stopped worker's job
    /// must happen even though the task doing it is being cancelled.
    private func settle(
        _ lease: JobLease,
        _ write: @escaping @Sendable (any JobStore, JobLease, Date) async throws -> Void
    ) async {
        let store = self.store
        let now = self.wallClock()
        let logger = self.logger
        let settle: @Sendable () async -> Void = {
            do {
                try await write(store, lease, now)
            } catch {
                // The lease expires and the job is reclaimed: late, but not lost.
                logger.error("job store write failed", metadata: ["job.id": "\(lease.jobID)", "error": "\(error)"])
            }
        }
        // A new task only when this one is cancelled: it costs a hop on every job otherwise.
        if Task.isCancelled {
            await Task { await settle() }.value
        } else {
            await settle()
        }
    }

    /// Looks for hung workers, and whether an unsafe pool's probe restart is due, once per heartbeat interval.
    private func monitor() async {
        while true {
            do { try await self.clock.sleep(for: self.configuration.heartbeatInterval) } catch { return }
            let now = self.clock.now
            if self.startProbeIfDue(now: now) { return }
            let hung = self.state.withLock {
                state -> [(String, Task<Void, Never>?, OneShot<Exit>?, WorkerHangReason, Duration)] in
                var hung: [(String, Task<Void, Never>?, OneShot<Exit>?, WorkerHangReason, Duration)] = []
                for index in state.slots.indices {
                    let slot = state.slots[index]
                    guard slot.phase.isAlive, slot.exit?.isResolved == false else { continue }
                    guard
                        let reason = self.detector.verdict(
                            deadline: slot.job?.deadline,
                            lastHeartbeat: slot.lastHeartbeat,
                            idle: slot.phase == .idle,
                            now: now
                        )
                    else { continue }
                    let overdue =
                        reason == .deadlineExceeded
                        ? slot.job!.deadline.duration(to: now)
                        : slot.lastHeartbeat.duration(to: now) - self.configuration.heartbeatTimeout
                    state.slots[index].phase = .hung(reason)
                    hung.append((slot.workerID, slot.task, slot.exit, reason, overdue))
                }
                state.refreshListeners()
                return hung
            }
            for (workerID, task, exit, reason, overdue) in hung {
                self.logger.error(
                    "worker hung: cancelling and replacing it",
                    metadata: ["worker.id": "\(workerID)", "worker.hang_reason": "\(reason.rawValue)"]
                )
                self.onEvent?(.workerHung(workerID: workerID, reason: reason, overdue: overdue))
                exit?.resolve(.hung(reason))
                task?.cancel()
            }
        }
    }

    /// Ends the generation for the probe restart of an unsafe pool once its quiet period is over; the next
    /// generation starts on probation. Returns whether it did.
    private func startProbeIfDue(now: C.Instant) -> Bool {
        let stop = self.state.withLock { state -> OneShot<Void>? in
            guard state.machine.probeIsDue(now: now), state.pendingRestart == nil, !state.shuttingDown else {
                return nil
            }
            // Resolved by the next generation's start; nobody waits on it.
            state.pendingRestart = OneShot()
            return state.generationStop
        }
        guard let stop else { return false }
        self.logger.notice(
            "worker pool unsafe: quiet period over, probing with a pool restart",
            metadata: ["workers.quiet_period_ms": "\(self.state.withLock { $0.machine.quietPeriod.milliseconds })"]
        )
        stop.resolve(())
        return true
    }

    // MARK: Worker

    private enum Execution: Sendable {
        case success(String)
        case failure(String, WorkerTaskFailure.Cause)
    }

    /// A worker: its loop over the queue, beside one heartbeat loop for its whole life (not one per job: a
    /// timer and a task per job showed up in the job benchmark).
    private func work(slot index: Int, incarnation: Int, exit: OneShot<Exit>) async {
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await self.heartbeats(slot: index, incarnation: incarnation) }
            await self.consume(slot: index, incarnation: incarnation, exit: exit)
            group.cancelAll()
        }
    }

    private func consume(slot index: Int, incarnation: Int, exit: OneShot<Exit>) async {
        let workerID = self.configuration.workerIds[index]
        // The next job, claimed in the same round trip as the previous completion.
        var prefetched: JobLease?
        defer {
            if let prefetched {
                // Stopped with a job claimed but not started: hand it back at once.
                Task {
                    if try await self.store.release(prefetched, now: self.wallClock()) == .applied {
                        self.signals.workAvailable()
                    }
                }
            }
        }
        while !Task.isCancelled, !exit.isResolved {
            self.beat(slot: index, incarnation: incarnation, phase: .claiming)
            let lease: JobLease?
            do {
                if let next = prefetched {
                    lease = next
                    prefetched = nil
                } else {
                    lease = try await self.store.claim(
                        owner: workerID,
                        leaseDuration: self.configuration.leaseDuration,
                        now: self.wallClock()
                    )
                }
            } catch {
                if Task.isCancelled { break }
                exit.resolve(.crashed("the job store could not be read"))
                self.logger.error("job claim failed", metadata: ["worker.id": "\(workerID)", "error": "\(error)"])
                return
            }
            guard let lease else {
                self.beat(slot: index, incarnation: incarnation, phase: .idle)
                await self.signals.waitForWork(upTo: self.configuration.pollInterval, clock: self.clock)
                continue
            }

            let plan: WorkerTaskPlan
            do {
                plan = try self.executor.plan(worker: lease.job.worker)
            } catch {
                // Not the worker's fault: the job names a worker that does not exist (or is broken). Fail it
                // for good and carry on.
                let message = WorkerTaskFailure.message(for: error)
                await self.settle(lease) { store, lease, now in
                    let outcome = try await store.fail(lease, error: message, retryAfter: nil, now: now)
                    self.afterFailure(outcome, jobID: lease.jobID, workerID: workerID, retryDelay: .zero)
                }
                self.state.withLock { $0.recordFailure(message) }
                continue
            }

            let recorded = self.state.withLock { state -> Bool in
                guard state.slots[index].incarnation == incarnation, !exit.isResolved else { return false }
                let now = self.clock.now
                state.slots[index].job = ActiveJob(
                    lease: lease,
                    plan: plan,
                    startedAt: now,
                    deadline: now.advanced(by: plan.timeout)
                )
                state.slots[index].phase = .busy
                state.slots[index].lastHeartbeat = now
                state.recordDispatch(input: lease.job.input, now: self.wallClock())
                return true
            }
            guard recorded else {
                // Replaced or stopped between the claim and now: give the job straight back.
                await self.settle(lease) { store, lease, now in
                    if try await store.release(lease, now: now) == .applied { self.signals.workAvailable() }
                }
                break
            }
            self.onEvent?(.jobStarted(workerID: workerID, jobID: lease.jobID, attempt: lease.attempt))

            let execution: Execution
            do {
                execution = .success(try await self.executor.execute(plan, input: lease.job.input))
            } catch {
                execution = .failure(WorkerTaskFailure.message(for: error), WorkerTaskFailure.cause(of: error))
            }
            // Whoever takes the job from the slot settles it. If the supervisor took it (hang, stop), this
            // attempt writes nothing; if the heartbeat found the lease lost, neither does it, and goes on.
            guard self.takeJob(slot: index, incarnation: incarnation, fence: lease.fence) != nil else {
                if Task.isCancelled || exit.isResolved { break }
                continue
            }
            switch execution {
            case .success(let result):
                let settled = OneShot<(Bool, JobLease?)>()
                let claimNext = !Task.isCancelled && !exit.isResolved
                let leaseDuration = self.configuration.leaseDuration
                await self.settle(lease) { store, lease, now in
                    if claimNext {
                        let (outcome, next) = try await store.completeAndClaim(
                            lease,
                            result: result,
                            owner: workerID,
                            leaseDuration: leaseDuration,
                            now: now
                        )
                        settled.resolve((outcome == .applied, next))
                    } else {
                        settled.resolve((try await store.complete(lease, result: result, now: now) == .applied, nil))
                    }
                }
                settled.resolve((false, nil))  // the write threw: the lease expires and the job runs again
                let (wasApplied, next) = await settled.value
                prefetched = next
                self.state.withLock { state in
                    state.machine.workerSucceeded(slot: index)
                    if wasApplied { state.recordSuccess(result: result) }
                }
                if wasApplied {
                    self.signals.jobFinished(id: lease.jobID)
                    self.logger.debug(
                        "job succeeded",
                        metadata: [
                            "job.id": "\(lease.jobID)", "job.attempt": "\(lease.attempt)", "worker.id": "\(workerID)",
                        ]
                    )
                }
                self.onEvent?(
                    .jobFinished(workerID: workerID, jobID: lease.jobID, outcome: wasApplied ? .succeeded : .fenced)
                )
            case .failure(let message, let cause):
                if Task.isCancelled || exit.isResolved {
                    // Stopped from outside while running: hand the job back rather than charge it.
                    await self.settle(lease) { store, lease, now in
                        if try await store.release(lease, now: now) == .applied { self.signals.workAvailable() }
                    }
                    break
                }
                switch cause {
                case .modelUnavailable(let retryAfter):
                    // The model's failure, not this worker's: it is not replaced and the storm guard never
                    // hears of it.
                    await self.waitForModel(lease, message: message, retryAfter: retryAfter, workerID: workerID)
                    continue
                case .modelRejected:
                    await self.failAndRetry(lease, message: message, workerID: workerID)
                    continue
                case .worker:
                    await self.failAndRetry(lease, message: message, workerID: workerID)
                    exit.resolve(.crashed(message))
                    return
                }
            }
        }
        exit.resolve(.stopped)
    }

    /// Renews the lease of the worker's current job every interval and reports the worker alive. A lease
    /// found lost (fenced: someone else owns the job now) is dropped from the slot, so the running attempt
    /// writes nothing; a store that does not answer means no beat, and a lasting silence reads as a hang.
    private func heartbeats(slot index: Int, incarnation: Int) async {
        while true {
            do { try await self.clock.sleep(for: self.configuration.heartbeatInterval) } catch { return }
            let lease = self.state.withLock { state -> JobLease? in
                guard state.slots[index].incarnation == incarnation else { return nil }
                return state.slots[index].job?.lease
            }
            guard let lease else { continue }
            let outcome = try? await self.store.heartbeat(
                lease,
                leaseDuration: self.configuration.leaseDuration,
                now: self.wallClock()
            )
            switch outcome {
            case .applied?:
                self.beat(slot: index, incarnation: incarnation, phase: nil)
            case .fenced?:
                guard self.takeJob(slot: index, incarnation: incarnation, fence: lease.fence) != nil else { continue }
                self.logger.warning(
                    "job lease lost",
                    metadata: ["worker.id": "\(self.configuration.workerIds[index])", "job.id": "\(lease.jobID)"]
                )
                self.onEvent?(
                    .jobFinished(workerID: self.configuration.workerIds[index], jobID: lease.jobID, outcome: .fenced)
                )
            case nil:
                continue
            }
        }
    }

    private func beat(slot index: Int, incarnation: Int, phase: Phase?) {
        self.state.withLock { state in
            guard state.slots[index].incarnation == incarnation, state.slots[index].phase.isAlive else { return }
            state.slots[index].lastHeartbeat = self.clock.now
            if let phase {
                state.slots[index].phase = phase
                if phase == .idle || phase == .claiming { state.slots[index].job = nil }
            }
        }
    }

    private func setPhase(_ phase: Phase, slot index: Int, incarnation: Int) {
        self.state.withLock { state in
            guard state.slots[index].incarnation == incarnation else { return }
            state.slots[index].phase = phase
            state.refreshListeners()
        }
    }

    /// Removes the slot's job (only the one with `fence`, when given) and returns it: the caller settles it.
    private func takeJob(slot index: Int, incarnation: Int, fence: Int? = nil) -> ActiveJob? {
        self.state.withLock { state in
            guard state.slots[index].incarnation == incarnation, let job = state.slots[index].job else { return nil }
            if let fence, job.lease.fence != fence { return nil }
            state.slots[index].job = nil
            return job
        }
    }

    // MARK: Status

    public func status(now: Date) -> (runtime: WorkerRuntimeStatus, supervisor: WorkerSupervisorStatus) {
        let instant = self.clock.now
        let (raw, supervisor) = self.state.withLock { state in
            let workers = state.slots.map { slot in
                WorkerSupervisorStatus.Worker(
                    id: slot.workerID,
                    state: Self.workerState(slot.phase),
                    restarts: slot.restarts,
                    jobId: slot.job?.lease.jobID,
                    busySeconds: slot.job.map { $0.startedAt.duration(to: instant).seconds },
                    hangReason: { if case .hung(let reason) = slot.phase { reason } else { nil } }()
                )
            }
            let supervisorState: WorkerSupervisorStatus.State =
                if !self.configuration.enabled || self.configuration.workerCount == 0 {
                    .disabled
                } else if state.machine.isUnsafe {
                    .unsafe
                } else if state.running {
                    .running
                } else {
                    state.generation == 0 ? .starting : .stopped
                }
            let supervisor = WorkerSupervisorStatus(
                state: supervisorState,
                restarts: state.machine.restarts,
                crashes: state.machine.crashes,
                hangs: state.machine.hangs,
                storms: state.machine.storms,
                stormGuardTripped: state.machine.isUnsafe,
                unsafeSince: state.machine.isUnsafe ? state.unsafeSince : nil,
                nextProbeAt: state.machine.nextProbeAt.map { now.addingDuration(instant.duration(to: $0)) },
                quietPeriodMs: state.machine.quietPeriod.milliseconds,
                onProbation: state.machine.isOnProbation(now: instant),
                restartsInWindow: state.machine.restartsInWindow(now: instant),
                restartThreshold: self.configuration.restart.restartThreshold,
                restartWindowMs: self.configuration.restart.restartWindow.milliseconds,
                poolRestarts: state.poolRestarts,
                lastPoolRestartAt: state.lastPoolRestartAt,
                workers: self.configuration.enabled ? workers : []
            )
            return (state, supervisor)
        }
        // Redaction runs outside the lock: workers record dispatches while status is read.
        return (raw.runtimeStatus, supervisor)
    }

    /// Whether the pool has started (always true when disabled: inline dispatch needs nothing started).
    public var isStarted: Bool {
        guard self.configuration.enabled, self.configuration.workerCount > 0 else { return true }
        return self.state.withLock { $0.running }
    }

    /// Records an inline dispatch (pool disabled) in the same telemetry.
    public func recordInline(input: String, outcome: Result<String, ArcanosError>) {
        self.state.withLock { state in
            state.recordDispatch(input: input, now: self.wallClock())
            switch outcome {
            case .success(let result): state.recordSuccess(result: result)
            case .failure(let error): state.recordFailure(error.message)
            }
        }
    }

    private static func workerState(_ phase: Phase) -> WorkerSupervisorStatus.Worker.State {
        switch phase {
        case .starting, .idle, .claiming: .idle
        case .busy: .busy
        case .hung: .hung
        case .restarting: .restarting
        case .dead: .dead
        case .stopped: .stopped
        }
    }
}

/// What the pool does, as it happens: for tests and benchmarks to synchronise on (never for control flow).
public enum WorkerPoolEvent: Sendable, Hashable {
    public enum JobOutcome: String, Sendable, Hashable {
        case succeeded, retrying, failed, released, fenced
        /// Handed back uncharged to wait for an unavailable model.
        case deferred
    }

    case poolStarted(generation: Int)
    case workerStarted(workerID: String, incarnation: Int)
    /// A worker's task ended (after a crash, a hang, a restart or shutdown).
    case workerStopped(workerID: String, incarnation: Int)
    case jobStarted(workerID: String, jobID: String, attempt: Int)
    case jobFinished(workerID: String, jobID: String, outcome: JobOutcome)
    case workerCrashed(workerID: String)
    /// `overdue`: how long after the hang began to count it was detected (at most one heartbeat interval).
    case workerHung(workerID: String, reason: WorkerHangReason, overdue: Duration)
    case stormGuardTripped(workerID: String)
}
