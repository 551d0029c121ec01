import Foundation
import Logging
import ServiceLifecycle
import Synchronization

/// Runs the core pool: `workerCount` workers consuming the one job queue, each watched. A worker that crashes
/// is replaced at once, then with jittered backoff; a hung one (past its task deadline or silent) is cancelled,
/// its command killed, and replaced; a restart storm stops the replacing and marks the pool unsafe.
/// `restart()` swaps the whole pool, handing in-flight jobs back to the queue. The slots' lifecycle is a
/// `WorkerPoolStateMachine`: this class tells it what happened and performs what it answers.
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
        self.state = Mutex(State(configuration: configuration, now: clock.now))
    }

    // MARK: State

    private typealias Machine = WorkerPoolStateMachine<C.Instant>

    /// A slot's running worker: the task to cancel and the exit its supervising loop waits for.
    private struct Worker {
        var task: Task<Void, Never>?
        var exit: OneShot<Machine.Exit>
    }

    private struct State {
        /// The slots' lifecycle; everything else here is the pool's generations and telemetry.
        var machine: Machine
        var workers: [Worker?]
        var runtime: WorkerRuntimeStatus
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
            self.machine = Machine(configuration: configuration, now: now)
            self.workers = Array(repeating: nil, count: configuration.workerIds.count)
            self.runtime = WorkerRuntimeStatus(
                enabled: configuration.enabled,
                model: configuration.model,
                configuredCount: configuration.workerCount,
                workerIds: []
            )
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

        /// The runtime status with its listeners (the alive workers) and its previews redacted.
        var runtimeStatus: WorkerRuntimeStatus {
            var runtime = self.runtime
            runtime.workerIds = self.machine.aliveWorkerIDs
            runtime.activeListeners = runtime.workerIds.count
            runtime.lastInputPreview = self.lastInput.map { InputPreview.make($0) }
            runtime.lastResult = self.lastResult.map { InputPreview.make($0) }
            runtime.lastError = self.lastError.map { InputPreview.make($0) }
            return runtime
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
            if !state.machine.restart.isUnsafe { state.unsafeSince = nil }
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
        let workerID = self.configuration.workerIds[index]
        while !Task.isCancelled {
            let exit = OneShot<Machine.Exit>()
            let incarnation = self.state.withLock { state -> Int in
                state.workers[index] = Worker(task: nil, exit: exit)
                return state.machine.workerStarting(slot: index, now: self.clock.now)
            }
            // Unstructured on purpose: a worker stuck in code that ignores cancellation must not keep its
            // replacement from starting. Fencing keeps such a straggler from writing anything.
            let task = Task {
                // Emitted from inside the worker's task: the replacement is running and about to claim.
                self.onEvent?(.workerStarted(workerID: workerID, incarnation: incarnation))
                await self.work(slot: index, incarnation: incarnation, exit: exit)
                self.onEvent?(.workerStopped(workerID: workerID, incarnation: incarnation))
            }
            self.state.withLock { $0.workers[index]?.task = task }

            let outcome = await withTaskCancellationHandler {
                await exit.value
            } onCancel: {
                exit.resolve(.stopped)
            }
            task.cancel()
            if case .crashed(let message) = outcome {
                self.logger.error("worker crashed", metadata: ["worker.id": "\(workerID)", "error": "\(message)"])
                self.onEvent?(.workerCrashed(workerID: workerID))
            }
            let action = self.state.withLock { state in
                let action = state.machine.workerExited(
                    outcome,
                    slot: index,
                    incarnation: incarnation,
                    cancelled: Task.isCancelled,
                    now: self.clock.now,
                    jitter: Double.random(in: 0...1)
                )
                if action.replacement == .stormGuardTripped, state.unsafeSince == nil {
                    state.unsafeSince = self.wallClock()
                }
                return action
            }
            if let job = action.job { await self.perform(job, workerID: workerID) }

            switch action.replacement {
            case .none:
                return
            case .restart(let delay):
                self.logger.notice(
                    "replacing worker",
                    metadata: ["worker.id": "\(workerID)", "worker.backoff_ms": "\(delay.milliseconds)"]
                )
                if delay > .zero {
                    do { try await self.clock.sleep(for: delay) } catch { return }
                }
            case .stormGuardTripped:
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

    /// Writes what the machine decided for a job: the one place a job's outcome reaches the store, its
    /// signals, events and telemetry. Returns the next job when a completion claimed one.
    @discardableResult
    private func perform(_ action: Machine.JobAction, workerID: String) async -> JobLease? {
        let lease = action.lease
        let jobID = lease.jobID
        switch action.settlement {
        case .complete(let result, let claimNext):
            let leaseDuration = self.configuration.leaseDuration
            let written = await self.settle(lease) { store, lease, now -> (JobWriteOutcome, JobLease?) in
                guard claimNext else { return (try await store.complete(lease, result: result, now: now), nil) }
                return try await store.completeAndClaim(
                    lease,
                    result: result,
                    owner: workerID,
                    leaseDuration: leaseDuration,
                    now: now
                )
            }
            // A write that threw counts as fenced: the lease expires and the job runs again.
            let applied = written?.0 == .applied
            if applied {
                self.state.withLock { $0.recordSuccess(result: result) }
                self.signals.jobFinished(id: jobID)
                self.logger.debug(
                    "job succeeded",
                    metadata: ["job.id": "\(jobID)", "job.attempt": "\(lease.attempt)", "worker.id": "\(workerID)"]
                )
            }
            self.onEvent?(.jobFinished(workerID: workerID, jobID: jobID, outcome: applied ? .succeeded : .fenced))
            return written?.1
        case .fail(let message, let retryAfter):
            let outcome = await self.settle(lease) { store, lease, now in
                try await store.fail(lease, error: message, retryAfter: retryAfter, now: now)
            }
            switch outcome {
            case .retrying?:
                if (retryAfter ?? .zero) == .zero { self.signals.workAvailable() }
                self.onEvent?(.jobFinished(workerID: workerID, jobID: jobID, outcome: .retrying))
            case .failed?:
                self.signals.jobFinished(id: jobID)
                self.onEvent?(.jobFinished(workerID: workerID, jobID: jobID, outcome: .failed))
            case .fenced?:
                self.onEvent?(.jobFinished(workerID: workerID, jobID: jobID, outcome: .fenced))
            case nil:
                break
            }
            self.state.withLock { $0.recordFailure(message) }
        case .release:
            await self.handBack(lease, retryAfter: nil, error: nil, as: .released, workerID: workerID)
        case .waitForModel(let message, let delay):
            self.logger.info(
                "model unavailable: job waits for it",
                metadata: [
                    "job.id": "\(jobID)", "worker.id": "\(workerID)", "job.retry_after_ms": "\(delay.milliseconds)",
                ]
            )
            let error = "\(message); waiting for the model"
            await self.handBack(lease, retryAfter: delay, error: error, as: .deferred, workerID: workerID)
            self.state.withLock { $0.recordFailure(message) }
        }
        return nil
    }

    /// Gives the job back to the queue uncharged, claimable after `retryAfter` (at once when nil or zero).
    private func handBack(
        _ lease: JobLease,
        retryAfter: Duration?,
        error: String?,
        as outcome: WorkerPoolEvent.JobOutcome,
        workerID: String
    ) async {
        let written = await self.settle(lease) { store, lease, now in
            try await store.release(lease, retryAfter: retryAfter, error: error, now: now)
        }
        guard let written else { return }
        if written == .applied, (retryAfter ?? .zero) == .zero { self.signals.workAvailable() }
        self.onEvent?(
            .jobFinished(workerID: workerID, jobID: lease.jobID, outcome: written == .applied ? outcome : .fenced)
        )
    }

    /// Runs a store write for a lease outside the current task's cancellation: settling a stopped worker's job
    /// must happen even though the task doing it is being cancelled. Nil when the write threw.
    private func settle<Written: Sendable>(
        _ lease: JobLease,
        _ write: @escaping @Sendable (any JobStore, JobLease, Date) async throws -> Written
    ) async -> Written? {
        let store = self.store
        let now = self.wallClock()
        let logger = self.logger
        let settle: @Sendable () async -> Written? = {
            do {
                return try await write(store, lease, now)
            } catch {
                // The lease expires and the job is reclaimed: late, but not lost.
                logger.error("job store write failed", metadata: ["job.id": "\(lease.jobID)", "error": "\(error)"])
                return nil
            }
        }
        // A new task only when this one is cancelled: it costs a hop on every job otherwise.
        if Task.isCancelled {
            return await Task { await settle() }.value
        } else {
            return await settle()
        }
    }

    /// Looks for hung workers, and whether an unsafe pool's probe restart is due, once per heartbeat interval.
    private func monitor() async {
        while true {
            do { try await self.clock.sleep(for: self.configuration.heartbeatInterval) } catch { return }
            let now = self.clock.now
            if self.startProbeIfDue(now: now) { return }
            let hung = self.state.withLock { state -> [(Machine.Hang, Worker?)] in
                let exiting = Set(state.workers.indices.filter { state.workers[$0]?.exit.isResolved != false })
                return state.machine.monitorTick(now: now, exiting: exiting).map { ($0, state.workers[$0.slot]) }
            }
            for (hang, worker) in hung {
                self.logger.error(
                    "worker hung: cancelling and replacing it",
                    metadata: ["worker.id": "\(hang.workerID)", "worker.hang_reason": "\(hang.reason.rawValue)"]
                )
                self.onEvent?(.workerHung(workerID: hang.workerID, reason: hang.reason, overdue: hang.overdue))
                worker?.exit.resolve(.hung(hang.reason))
                worker?.task?.cancel()
            }
        }
    }

    /// Ends the generation for the probe restart of an unsafe pool once its quiet period is over; the next
    /// generation starts on probation. Returns whether it did.
    private func startProbeIfDue(now: C.Instant) -> Bool {
        let stop = self.state.withLock { state -> OneShot<Void>? in
            guard state.machine.restart.probeIsDue(now: now), state.pendingRestart == nil, !state.shuttingDown else {
                return nil
            }
            // Resolved by the next generation's start; nobody waits on it.
            state.pendingRestart = OneShot()
            return state.generationStop
        }
        guard let stop else { return false }
        self.logger.notice(
            "worker pool unsafe: quiet period over, probing with a pool restart",
            metadata: [
                "workers.quiet_period_ms": "\(self.state.withLock { $0.machine.restart.quietPeriod.milliseconds })"
            ]
        )
        stop.resolve(())
        return true
    }

    // MARK: Worker

    /// A worker: its loop over the queue, beside one heartbeat loop for its whole life (not one per job: a
    /// timer and a task per job showed up in the job benchmark).
    private func work(slot index: Int, incarnation: Int, exit: OneShot<Machine.Exit>) async {
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await self.heartbeats(slot: index, incarnation: incarnation) }
            await self.consume(slot: index, incarnation: incarnation, exit: exit)
            group.cancelAll()
        }
    }

    private func consume(slot index: Int, incarnation: Int, exit: OneShot<Machine.Exit>) async {
        let workerID = self.configuration.workerIds[index]
        // The next job, claimed in the same round trip as the previous completion.
        var prefetched: JobLease?
        defer {
            if let prefetched {
                // Stopped with a job claimed but not started: hand it back at once.
                let action = self.state.withLock { $0.machine.claimAbandoned(prefetched) }
                Task { await self.perform(action, workerID: workerID) }
            }
        }
        var storeAway = false
        jobs: while !Task.isCancelled, !exit.isResolved {
            self.state.withLock {
                $0.machine.workerReported(.claiming, slot: index, incarnation: incarnation, now: self.clock.now)
            }
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
                if Task.isCancelled { break jobs }
                // The store is away (a database outage), which is not this worker's fault: no restart, so
                // that a long outage cannot trip the restart-storm guard. It stays idle and claims again after
                // the poll interval, and so resumes by itself once the store answers.
                if !storeAway {
                    self.logger.warning(
                        "job claim failed; waiting for the store",
                        metadata: ["worker.id": "\(workerID)", "error": "\(error)"]
                    )
                }
                storeAway = true
                self.state.withLock {
                    $0.machine.workerReported(.idle, slot: index, incarnation: incarnation, now: self.clock.now)
                }
                await self.signals.waitForWork(upTo: self.configuration.pollInterval, clock: self.clock)
                continue
            }
            storeAway = false
            guard let lease else {
                self.state.withLock {
                    $0.machine.workerReported(.idle, slot: index, incarnation: incarnation, now: self.clock.now)
                }
                await self.signals.waitForWork(upTo: self.configuration.pollInterval, clock: self.clock)
                continue
            }

            let plan: WorkerTaskPlan
            do {
                plan = try self.executor.plan(worker: lease.job.worker)
            } catch {
                let action = self.state.withLock {
                    $0.machine.jobCannotRun(lease, message: WorkerTaskFailure.message(for: error))
                }
                await self.perform(action, workerID: workerID)
                continue
            }

            let claim = self.state.withLock { state -> Machine.ClaimAction in
                let claim = state.machine.jobClaimed(
                    lease,
                    timeout: plan.timeout,
                    slot: index,
                    incarnation: incarnation,
                    stopping: exit.isResolved,
                    now: self.clock.now
                )
                if claim == .run { state.recordDispatch(input: lease.job.input, now: self.wallClock()) }
                return claim
            }
            if case .giveBack(let action) = claim {
                await self.perform(action, workerID: workerID)
                break jobs
            }
            self.onEvent?(.jobStarted(workerID: workerID, jobID: lease.jobID, attempt: lease.attempt))

            let execution: Machine.Execution
            do {
                execution = .success(try await self.executor.execute(plan, input: lease.job.input))
            } catch {
                execution = .failure(WorkerTaskFailure.message(for: error), WorkerTaskFailure.cause(of: error))
            }
            let action = self.state.withLock { state in
                state.machine.jobExecuted(
                    fence: lease.fence,
                    execution,
                    slot: index,
                    incarnation: incarnation,
                    stopping: Task.isCancelled || exit.isResolved,
                    date: self.wallClock(),
                    jitter: Double.random(in: 0...1)
                )
            }
            if let job = action.job { prefetched = await self.perform(job, workerID: workerID) }
            switch action.next {
            case .work: continue
            case .stop: break jobs
            case .crash(let message):
                exit.resolve(.crashed(message))
                return
            }
        }
        exit.resolve(.stopped)
    }

    /// Renews the lease of the worker's current job every interval and reports the worker alive. A lease
    /// found lost (fenced: someone else owns the job now) is dropped from the slot, so the running attempt
    /// writes nothing; a store that does not answer means no beat, and a lasting silence reads as a hang.
    private func heartbeats(slot index: Int, incarnation: Int) async {
        let workerID = self.configuration.workerIds[index]
        while true {
            do { try await self.clock.sleep(for: self.configuration.heartbeatInterval) } catch { return }
            let lease = self.state.withLock { $0.machine.leaseToRenew(slot: index, incarnation: incarnation) }
            guard let lease else { continue }
            let outcome = try? await self.store.heartbeat(
                lease,
                leaseDuration: self.configuration.leaseDuration,
                now: self.wallClock()
            )
            let action = self.state.withLock {
                $0.machine.heartbeatAnswered(
                    outcome,
                    for: lease,
                    slot: index,
                    incarnation: incarnation,
                    now: self.clock.now
                )
            }
            if case .leaseLost(let lease) = action {
                self.logger.warning(
                    "job lease lost",
                    metadata: ["worker.id": "\(workerID)", "job.id": "\(lease.jobID)"]
                )
                self.onEvent?(.jobFinished(workerID: workerID, jobID: lease.jobID, outcome: .fenced))
            }
        }
    }

    // MARK: Status

    public func status(now: Date) -> (runtime: WorkerRuntimeStatus, supervisor: WorkerSupervisorStatus) {
        let instant = self.clock.now
        let (raw, supervisor) = self.state.withLock { state in
            let workers = state.machine.slots.map { slot in
                WorkerSupervisorStatus.Worker(
                    id: slot.workerID,
                    state: slot.phase.reported,
                    restarts: slot.restarts,
                    jobId: slot.job?.lease.jobID,
                    busySeconds: slot.job.map { $0.startedAt.duration(to: instant).seconds },
                    hangReason: { if case .hung(let reason) = slot.phase { reason } else { nil } }()
                )
            }
            let supervisorState: WorkerSupervisorStatus.State =
                if !self.configuration.enabled || self.configuration.workerCount == 0 {
                    .disabled
                } else if state.machine.restart.isUnsafe {
                    .unsafe
                } else if state.running {
                    .running
                } else {
                    state.generation == 0 ? .starting : .stopped
                }
            let supervisor = WorkerSupervisorStatus(
                state: supervisorState,
                restarts: state.machine.restart.restarts,
                crashes: state.machine.restart.crashes,
                hangs: state.machine.restart.hangs,
                storms: state.machine.restart.storms,
                stormGuardTripped: state.machine.restart.isUnsafe,
                unsafeSince: state.machine.restart.isUnsafe ? state.unsafeSince : nil,
                nextProbeAt: state.machine.restart.nextProbeAt.map { now.addingDuration(instant.duration(to: $0)) },
                quietPeriodMs: state.machine.restart.quietPeriod.milliseconds,
                onProbation: state.machine.restart.isOnProbation(now: instant),
                restartsInWindow: state.machine.restart.restartsInWindow(now: instant),
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
