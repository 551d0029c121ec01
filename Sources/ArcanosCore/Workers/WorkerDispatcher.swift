import Foundation
import Logging

/// The pool's front door for the HTTP layer: run one task and wait for it (`POST /workers/run/:workerId`),
/// enqueue a durable job (`POST /jobs`), read one (`GET /jobs/:id`), and the pool's report. Every task of the
/// pool goes through the job store, so neither a restart nor a crash loses one; with the pool disabled
/// (`RUN_WORKERS=false`) a run executes inline instead.
public final class WorkerDispatcher: Sendable {
    public let configuration: WorkerPoolConfiguration
    public let inventory: WorkerInventory
    private let store: any JobStore
    private let executor: any WorkerTaskExecuting
    private let signals: JobQueueSignals
    private let pool: any WorkerPoolControlling
    private let clock: any Clock<Duration>
    private let wallClock: @Sendable () -> Date
    private let logger: Logger

    public init(
        configuration: WorkerPoolConfiguration,
        inventory: WorkerInventory,
        store: any JobStore,
        executor: any WorkerTaskExecuting,
        signals: JobQueueSignals,
        pool: any WorkerPoolControlling,
        clock: any Clock<Duration> = ContinuousClock(),
        wallClock: @escaping @Sendable () -> Date = Date.init,
        logger: Logger
    ) {
        self.configuration = configuration
        self.inventory = inventory
        self.store = store
        self.executor = executor
        self.signals = signals
        self.pool = pool
        self.clock = clock
        self.wallClock = wallClock
        self.logger = logger
    }

    /// Runs one task for `worker` and waits (bounded by `runTimeout`) for its result. Throws `ArcanosError`
    /// before anything runs when the worker is invalid (400), unknown (404) or unavailable (503); a task that
    /// fails or times out is an outcome, not an error.
    public func run(worker: String, input: String) async throws -> WorkerRunOutcome {
        try Self.validate(input: input)
        let plan = try self.executor.plan(worker: worker)
        let started = ContinuousClock.now
        guard self.configuration.enabled, self.configuration.workerCount > 0 else {
            return await self.runInline(plan, input: input, started: started)
        }
        let supervisor = self.pool.status(now: self.wallClock()).supervisor
        if supervisor.state == .unsafe, supervisor.workers.allSatisfy({ $0.state == .dead }) {
            throw ArcanosError(
                .notReady,
                "No worker is running: the pool stopped restarting after a restart storm; it restarts itself after "
                    + "its quiet period, or a heal restarts it now"
            )
        }
        let job = try await self.store.enqueue(
            NewJob(worker: worker, input: input, maxAttempts: plan.maxAttempts),
            now: self.wallClock()
        )
        self.signals.workAvailable()
        let deadline = started.advanced(by: self.configuration.runTimeout)
        while true {
            guard let current = try await self.store.job(id: job.id) else {
                // Finished and swept by retention (a `JOB_RETENTION_MS` shorter than the wait) before its
                // result was read here: say so at once instead of waiting out the deadline for a job that is gone.
                return WorkerRunOutcome(
                    worker: worker,
                    jobId: job.id,
                    success: false,
                    result: nil,
                    error: "the job finished and its record was deleted (JOB_RETENTION_MS) before its result was read",
                    timedOut: false,
                    executionTime: started.duration(to: .now)
                )
            }
            if current.status.isFinal {
                return WorkerRunOutcome(
                    worker: worker,
                    jobId: job.id,
                    success: current.status == .succeeded,
                    result: current.result,
                    error: current.status == .succeeded ? nil : (current.error ?? "the task failed"),
                    timedOut: false,
                    executionTime: started.duration(to: .now)
                )
            }
            let remaining = ContinuousClock.now.duration(to: deadline)
            guard remaining > .zero else {
                return WorkerRunOutcome(
                    worker: worker,
                    jobId: job.id,
                    success: false,
                    result: nil,
                    error: "no result within \(self.configuration.runTimeout.milliseconds) ms; the job stays queued",
                    timedOut: true,
                    executionTime: started.duration(to: .now)
                )
            }
            // Woken by the worker that finishes it; the poll covers a finish in another process.
            await self.signals.waitForFinish(id: job.id, upTo: min(remaining, .seconds(1)), clock: ContinuousClock())
            try Task.checkCancellation()
        }
    }

    private func runInline(
        _ plan: WorkerTaskPlan,
        input: String,
        started: ContinuousClock.Instant
    ) async -> WorkerRunOutcome {
        let outcome: Result<String, ArcanosError>
        do {
            let result = try await withThrowingTaskGroup(of: String?.self) { group in
                group.addTask { try await self.executor.execute(plan, input: input) }
                group.addTask {
                    try await self.clock.sleep(for: plan.timeout)
                    return nil
                }
                let first = try await group.next()!
                group.cancelAll()
                return first
            }
            if let result {
                outcome = .success(result)
            } else {
                outcome = .failure(
                    ArcanosError(.internalError, "the task ran past its \(plan.timeout.milliseconds) ms deadline")
                )
            }
        } catch {
            outcome = .failure(ArcanosError(.internalError, WorkerTaskFailure.message(for: error)))
        }
        self.pool.recordInline(input: input, outcome: outcome)
        return WorkerRunOutcome(
            worker: plan.worker,
            jobId: nil,
            success: (try? outcome.get()) != nil,
            result: try? outcome.get(),
            error: { if case .failure(let error) = outcome { error.message } else { nil } }(),
            timedOut: false,
            executionTime: started.duration(to: .now)
        )
    }

    /// Enqueues a durable job for `worker` (validated the same way as a run). The pool runs it when enabled;
    /// otherwise it waits in the store for a process whose pool is.
    public func enqueue(worker: String, input: String) async throws -> Job {
        try Self.validate(input: input)
        let plan = try self.executor.plan(worker: worker)
        let job = try await self.store.enqueue(
            NewJob(worker: worker, input: input, maxAttempts: plan.maxAttempts),
            now: self.wallClock()
        )
        self.signals.workAvailable()
        return job
    }

    /// Throws what `run` would for `worker` itself — unknown (404), unavailable (503) — without any input, so
    /// that a route can answer for the worker before it reads the body.
    public func checkWorker(_ worker: String) throws {
        _ = try self.executor.plan(worker: worker)
    }

    public func job(id: String) async throws -> Job? {
        guard id.count <= 100 else { return nil }
        return try await self.store.job(id: id)
    }

    /// Runtime, supervisor and queue, for `/workers/status`. Never runs worker code.
    public func report(now: Date) async -> WorkerPoolReport {
        let (runtime, supervisor) = self.pool.status(now: now)
        do {
            let queue = try await self.store.stats(now: now)
            return WorkerPoolReport(runtime: runtime, supervisor: supervisor, queue: queue, queueError: nil)
        } catch {
            self.logger.error("job store stats failed", metadata: ["error": "\(error)"])
            return WorkerPoolReport(
                runtime: runtime,
                supervisor: supervisor,
                queue: nil,
                queueError: "the job store is unreachable"
            )
        }
    }

    /// A task's text: not only whitespace, at most `NewJob.maximumInputLength` characters (Unicode scalars, as
    /// JSON Schema's `maxLength` counts them).
    public static func validate(input: String) throws {
        guard !input.isBlank else {
            throw ArcanosError.invalidRequest("input must not be empty")
        }
        guard input.unicodeScalars.count <= NewJob.maximumInputLength else {
            throw ArcanosError.invalidRequest("input must be at most \(NewJob.maximumInputLength) characters")
        }
    }
}

/// The result of one dispatched task.
public struct WorkerRunOutcome: Sendable, Hashable {
    public var worker: String
    /// The durable job that carried it; nil when it ran inline.
    public var jobId: String?
    public var success: Bool
    public var result: String?
    /// A short safe message when it failed.
    public var error: String?
    /// No result within the wait limit (the job itself goes on).
    public var timedOut: Bool
    public var executionTime: Duration
}

/// Readiness of the pool: started (or disabled on purpose).
public struct WorkerPoolReadiness: ReadinessReporting {
    let pool: any WorkerPoolControlling

    public init(pool: any WorkerPoolControlling) {
        self.pool = pool
    }

    public func notReadyReasons() async -> [String] {
        let (runtime, supervisor) = self.pool.status(now: Date())
        guard runtime.enabled, runtime.configuredCount > 0 else { return [] }
        if !runtime.started { return ["worker pool not started"] }
        if runtime.activeListeners == 0 {
            return [supervisor.state == .unsafe ? "worker pool unsafe: no worker running" : "no worker running"]
        }
        return []
    }
}
