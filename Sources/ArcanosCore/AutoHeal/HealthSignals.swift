import Foundation

/// How bad things are: the `severity` of a plan and the `status` of the auto-heal summary.
public enum HealSeverity: String, Sendable, Hashable, Codable, CaseIterable, Comparable {
    case ok, warning, critical

    private var rank: Int {
        switch self {
        case .ok: 0
        case .warning: 1
        case .critical: 2
        }
    }

    public static func < (lhs: Self, rhs: Self) -> Bool { lhs.rank < rhs.rank }
}

/// What a recovery plan asks for. A closed set: neither the heuristic nor the model can name anything else.
public enum RecoveryAction: String, Sendable, Hashable, Codable, CaseIterable {
    /// Nothing to do but keep watching.
    case monitor
    /// Swap the whole worker pool (what `POST /workers/heal` executes).
    case restartWorkers = "restart-workers"
    /// Answers should come from `FALLBACK_MODEL` while the primary model recovers.
    case fallbackModel = "fallback-model"
    /// A human has to act: a restart would not help or would make things worse.
    case escalate
}

/// Everything the auto-heal heuristic looks at, gathered from the pool, the supervisor, the queue, the model
/// client, degraded-mode counters and the self-test. Optional fields are signals a component may not report
/// (yet); an absent signal never raises the severity.
public struct HealthSignals: Sendable, Hashable, Codable {
    /// A worker module whose definition does not load.
    public struct FailingModule: Sendable, Hashable, Codable {
        public var id: String
        /// A short, redacted reason (never a path or file contents).
        public var reason: String

        public init(id: String, reason: String) {
            self.id = id
            self.reason = reason
        }
    }

    /// Inventory modules that are listed `available: false`.
    public var failingModules: [FailingModule]
    /// `RUN_WORKERS`: when false the pool is disabled on purpose and nothing restarts it.
    public var poolEnabled: Bool
    /// Whether the pool has been started.
    public var poolStarted: Bool
    /// `WORKER_COUNT`.
    public var configuredWorkers: Int
    /// Workers currently consuming the queue.
    public var activeWorkers: Int
    /// Configured workers that are not running (crashed and not replaced).
    public var deadWorkers: [String]
    /// Workers past their task deadline or missing heartbeats.
    public var hungWorkers: [String]
    /// The supervisor saw a restart storm and stopped restarting.
    public var stormGuardTripped: Bool
    /// Whether a model client is configured at all (`OPENAI_API_KEY`).
    public var modelConfigured: Bool
    /// The fallback chain, primary first.
    public var models: [String]
    /// Models of the chain whose breaker rejects calls right now.
    public var openBreakers: [String]
    /// Start of the current run of degraded answers on AI routes; nil when the last answer was live.
    public var degradedSince: Date?
    /// Degraded answers served since start.
    public var degradedAnswers: Int
    /// The latest self-test failed (nil: no self-test has reported).
    public var selfTestFailed: Bool?
    /// No self-test ran within two intervals (nil: no self-test is configured).
    public var selfTestStale: Bool?
    /// The share of failing dispatches is rising (nil: not measured).
    public var errorRateRising: Bool?
    /// Tasks waiting in the queue (nil: no queue reported).
    public var queueDepth: Int?
    /// Age of the oldest waiting task, in seconds (nil: empty or not reported).
    public var queueOldestAgeSeconds: Double?
    /// The latest worker error, already redacted and shortened.
    public var lastError: String?
    /// In a cluster: replicas that stopped heartbeating (their ids); nil alone.
    public var deadReplicas: [String]?
    /// In a cluster: other live replicas whose enabled pool has fewer active workers than configured.
    public var replicaPoolsDown: [String]?

    public init(
        failingModules: [FailingModule] = [],
        poolEnabled: Bool = true,
        poolStarted: Bool = true,
        configuredWorkers: Int = 0,
        activeWorkers: Int = 0,
        deadWorkers: [String] = [],
        hungWorkers: [String] = [],
        stormGuardTripped: Bool = false,
        modelConfigured: Bool = true,
        models: [String] = [],
        openBreakers: [String] = [],
        degradedSince: Date? = nil,
        degradedAnswers: Int = 0,
        selfTestFailed: Bool? = nil,
        selfTestStale: Bool? = nil,
        errorRateRising: Bool? = nil,
        queueDepth: Int? = nil,
        queueOldestAgeSeconds: Double? = nil,
        lastError: String? = nil,
        deadReplicas: [String]? = nil,
        replicaPoolsDown: [String]? = nil
    ) {
        self.deadReplicas = deadReplicas
        self.replicaPoolsDown = replicaPoolsDown
        self.failingModules = failingModules
        self.poolEnabled = poolEnabled
        self.poolStarted = poolStarted
        self.configuredWorkers = configuredWorkers
        self.activeWorkers = activeWorkers
        self.deadWorkers = deadWorkers
        self.hungWorkers = hungWorkers
        self.stormGuardTripped = stormGuardTripped
        self.modelConfigured = modelConfigured
        self.models = models
        self.openBreakers = openBreakers
        self.degradedSince = degradedSince
        self.degradedAnswers = degradedAnswers
        self.selfTestFailed = selfTestFailed
        self.selfTestStale = selfTestStale
        self.errorRateRising = errorRateRising
        self.queueDepth = queueDepth
        self.queueOldestAgeSeconds = queueOldestAgeSeconds
        self.lastError = lastError
    }

    /// The pool should run but does not: not started, or no worker is consuming the queue.
    public var poolDown: Bool {
        self.poolEnabled && self.configuredWorkers > 0 && (!self.poolStarted || self.activeWorkers == 0)
    }

    /// Ids for the summary's `failingWorkers`: broken modules, then dead and hung workers.
    public var failingWorkers: [String] {
        var seen = Set<String>()
        return (self.failingModules.map(\.id) + self.deadWorkers + self.hungWorkers).filter { seen.insert($0).inserted }
    }
}
