/// How the core pool runs: its size, its leases and heartbeats, and when the supervisor gives up restarting.
public struct WorkerPoolConfiguration: Sendable, Hashable {
    /// `RUN_WORKERS`: false runs every task inline and never starts (or restarts) the pool.
    public var enabled: Bool
    /// `WORKER_COUNT`.
    public var workerCount: Int
    /// `WORKER_MODEL` (default: the configured AI model).
    public var model: String
    /// How long a claimed job is held without a heartbeat before another worker may take it (`JOB_LEASE_MS`).
    public var leaseDuration: Duration
    /// How often a busy worker renews its lease and reports it is alive; also how often the supervisor looks
    /// for hung workers (`WORKER_HEARTBEAT_INTERVAL_MS`).
    public var heartbeatInterval: Duration
    /// No heartbeat for this long while working means hung (`WORKER_HEARTBEAT_TIMEOUT_MS`).
    public var heartbeatTimeout: Duration
    /// Deadline of a core pool task (`WORKER_TASK_TIMEOUT_MS`); modules carry their own.
    public var taskTimeout: Duration
    /// Attempts of a core pool task (`JOB_MAX_ATTEMPTS`); modules use `retries + 1`.
    public var maxAttempts: Int
    /// How often an idle worker looks at the store without being woken (`JOB_POLL_INTERVAL_MS`).
    public var pollInterval: Duration
    /// How long `POST /workers/run/:workerId` waits for its task's result (`WORKER_RUN_TIMEOUT_MS`).
    public var runTimeout: Duration
    public var restart: WorkerRestartPolicy
    public var retry: JobRetryPolicy
    /// How long a job may wait for an unavailable model (`JOB_MODEL_WAIT_MS`).
    public var modelWait: ModelWaitPolicy

    public init(
        enabled: Bool = true,
        workerCount: Int = 4,
        model: String = "gpt-4o-mini",
        leaseDuration: Duration = .seconds(10),
        heartbeatInterval: Duration = .seconds(1),
        heartbeatTimeout: Duration = .seconds(5),
        taskTimeout: Duration = .seconds(30),
        maxAttempts: Int = 3,
        pollInterval: Duration = .milliseconds(500),
        runTimeout: Duration = .seconds(60),
        restart: WorkerRestartPolicy = .init(),
        retry: JobRetryPolicy = .init(),
        modelWait: ModelWaitPolicy = .init()
    ) {
        self.enabled = enabled
        self.workerCount = workerCount
        self.model = model
        self.leaseDuration = leaseDuration
        self.heartbeatInterval = heartbeatInterval
        self.heartbeatTimeout = heartbeatTimeout
        self.taskTimeout = taskTimeout
        self.maxAttempts = maxAttempts
        self.pollInterval = pollInterval
        self.runTimeout = runTimeout
        self.restart = restart
        self.retry = retry
        self.modelWait = modelWait
    }

    /// `arcanos-worker-1…N`.
    public var workerIds: [String] { (0..<max(self.workerCount, 0)).map { Self.workerID(slot: $0) } }

    public static func workerID(slot: Int) -> String { "arcanos-worker-\(slot + 1)" }
}
