import Foundation

/// Dispatch bookkeeping of the core pool, as the original system's `getWorkerRuntimeStatus()` reported it
/// (`arcanosWorkers.runtime` of `/workers/status`).
public struct WorkerRuntimeStatus: Sendable, Hashable, Codable {
    /// `RUN_WORKERS`.
    public var enabled: Bool
    /// `WORKER_MODEL`.
    public var model: String
    /// `WORKER_COUNT`.
    public var configuredCount: Int
    public var started: Bool
    public var startedAt: Date?
    /// Workers currently alive and consuming the queue.
    public var activeListeners: Int
    public var workerIds: [String]
    /// Tasks handed to a worker (or run inline) since start.
    public var totalDispatched: Int
    public var lastDispatchAt: Date?
    /// The first 120 characters of the latest task, redacted.
    public var lastInputPreview: String?
    /// The first 120 characters of the latest result, redacted.
    public var lastResult: String?
    /// The latest failure (a short safe message); cleared by the next success.
    public var lastError: String?

    public init(enabled: Bool, model: String, configuredCount: Int, workerIds: [String]) {
        self.enabled = enabled
        self.model = model
        self.configuredCount = configuredCount
        self.started = false
        self.startedAt = nil
        self.activeListeners = 0
        self.workerIds = workerIds
        self.totalDispatched = 0
        self.lastDispatchAt = nil
        self.lastInputPreview = nil
        self.lastResult = nil
        self.lastError = nil
    }

    public mutating func recordDispatch(input: String, now: Date) {
        self.totalDispatched += 1
        self.lastDispatchAt = now
        self.lastInputPreview = InputPreview.make(input)
    }

    public mutating func recordSuccess(result: String) {
        self.lastResult = InputPreview.make(result)
        self.lastError = nil
    }

    public mutating func recordFailure(_ message: String) {
        self.lastError = InputPreview.make(message)
    }
}

/// The supervisor's view: restarts, hangs, the storm guard, and each worker's state.
public struct WorkerSupervisorStatus: Sendable, Hashable, Codable {
    public enum State: String, Sendable, Hashable, Codable {
        /// `RUN_WORKERS=false`: tasks run inline, nothing is supervised.
        case disabled
        /// The service has not started the pool yet.
        case starting
        case running
        /// The storm guard tripped: crashed workers are no longer replaced until the pool is restarted (by a
        /// heal, or by the supervisor's own probe once `nextProbeAt` has come).
        case unsafe
        case stopped
    }

    public struct Worker: Sendable, Hashable, Codable {
        public enum State: String, Sendable, Hashable, Codable {
            case idle, busy, hung, restarting, dead, stopped
        }

        public var id: String
        public var state: State
        /// Replacements of this slot since the pool started.
        public var restarts: Int
        /// The job it runs, when busy.
        public var jobId: String?
        public var busySeconds: Double?
        public var hangReason: WorkerHangReason?
    }

    public var state: State
    /// Workers replaced after a crash or a hang, since start.
    public var restarts: Int
    public var crashes: Int
    /// Hung workers detected, since start.
    public var hangs: Int
    /// Times the storm guard tripped.
    public var storms: Int
    public var stormGuardTripped: Bool
    public var unsafeSince: Date?
    /// When an unsafe pool restarts itself on probation; nil while it is not unsafe.
    public var nextProbeAt: Date?
    /// The current quiet period before a probe restart (`SAFETY_WORKER_QUIET_PERIOD_MS`, doubled per failed probe).
    public var quietPeriodMs: Int64?
    /// Restarted on probation (a probe, or a heal without `force`): its next failure makes it unsafe again.
    public var onProbation: Bool?
    public var restartsInWindow: Int
    /// `SAFETY_WORKER_RESTART_THRESHOLD`.
    public var restartThreshold: Int
    /// `SAFETY_WORKER_RESTART_WINDOW_MS`.
    public var restartWindowMs: Int64
    /// Whole-pool restarts (`restart()`, used by heal).
    public var poolRestarts: Int
    public var lastPoolRestartAt: Date?
    public var workers: [Worker]

    /// Configured workers that are not running and will not be replaced.
    public var deadWorkers: [String] { self.workers.filter { $0.state == .dead }.map(\.id) }
    /// Workers currently hung (detected, not yet replaced).
    public var hungWorkers: [String] { self.workers.filter { $0.state == .hung }.map(\.id) }
}

/// Everything `/workers/status` shows about the pool: `arcanosWorkers.runtime`, `supervisor` and `queue`.
public struct WorkerPoolReport: Sendable, Hashable, Codable {
    public var runtime: WorkerRuntimeStatus
    public var supervisor: WorkerSupervisorStatus
    /// Nil when the store could not be read; `queueError` says so.
    public var queue: JobQueueStats?
    public var queueError: String?

    public init(
        runtime: WorkerRuntimeStatus,
        supervisor: WorkerSupervisorStatus,
        queue: JobQueueStats?,
        queueError: String?
    ) {
        self.runtime = runtime
        self.supervisor = supervisor
        self.queue = queue
        self.queueError = queueError
    }

    /// `arcanosWorkers.status` of the original payload.
    public var poolStatus: String {
        if !self.runtime.enabled { return "Disabled" }
        return self.runtime.started && self.runtime.activeListeners > 0 ? "Active" : "Pending"
    }
}

/// What `startWorkers(force)` returned in the original system; `restart()` returns it.
public struct StartWorkersSummary: Sendable, Hashable, Codable {
    public var started: Bool
    public var alreadyRunning: Bool
    public var runWorkers: Bool
    public var workerCount: Int
    public var workerIds: [String]
    public var model: String
    public var startedAt: Date?
    public var message: String

    public init(
        started: Bool,
        alreadyRunning: Bool,
        runWorkers: Bool,
        workerCount: Int,
        workerIds: [String],
        model: String,
        startedAt: Date?,
        message: String
    ) {
        self.started = started
        self.alreadyRunning = alreadyRunning
        self.runWorkers = runWorkers
        self.workerCount = workerCount
        self.workerIds = workerIds
        self.model = model
        self.startedAt = startedAt
        self.message = message
    }
}

/// The supervised pool whatever clock drives it: what `WorkerDispatcher` and the healer hold.
public protocol WorkerPoolControlling: Sendable {
    /// Swaps the whole pool (single-flight: concurrent callers share one restart), handing in-flight tasks back
    /// to the queue. Does nothing when the pool is disabled (`RUN_WORKERS=false`). Without `resetStormGuard` an
    /// unsafe pool restarts on probation (its next failure makes it unsafe again, with a longer quiet period);
    /// with it the restart-storm guard forgets the storm.
    func restart(resetStormGuard: Bool) async -> StartWorkersSummary
    /// Runtime telemetry and supervisor counters (the queue is added by `WorkerDispatcher`).
    func status(now: Date) -> (runtime: WorkerRuntimeStatus, supervisor: WorkerSupervisorStatus)
    /// Records a task run inline (pool disabled) in the dispatch telemetry.
    func recordInline(input: String, outcome: Result<String, ArcanosError>)
}

extension WorkerPoolControlling {
    /// A restart that also resets the storm guard: what a forced heal does.
    public func restart() async -> StartWorkersSummary {
        await self.restart(resetStormGuard: true)
    }

    /// Pools without dispatch telemetry (fakes) ignore inline runs.
    public func recordInline(input: String, outcome: Result<String, ArcanosError>) {}
}
