import Foundation

/// Gathers everything `GET /workers/status` shows and the auto-heal heuristic reads: the inventory, the pool's
/// telemetry, the queue, the model client, degraded-mode counters, the self-test and the last heal. Reading
/// status parses definition files and copies counters; it never runs worker code.
public final class WorkerStatusService: Sendable {
    public struct Configuration: Sendable, Hashable {
        /// `ARCANOS_WORKERS_DIR`, as configured.
        public var workersDirectory: String
        /// `system.model`: the primary model.
        public var systemModel: String
        /// `ARCANOS_ENV`.
        public var environment: String
        public var heuristic: AutoHealHeuristic.Configuration
        /// How model ids appear in the public view and in the heuristic's findings (credentials as aliases).
        public var publicModelNames: PublicModelNames
        /// `ARCANOS_DATA_DIR`: the detail view shows the workers directory relative to it.
        public var dataDirectory: String?

        public init(
            workersDirectory: String,
            systemModel: String,
            environment: String,
            heuristic: AutoHealHeuristic.Configuration = .init(),
            publicModelNames: PublicModelNames = .init(),
            dataDirectory: String? = nil
        ) {
            self.workersDirectory = workersDirectory
            self.systemModel = systemModel
            self.environment = environment
            self.heuristic = heuristic
            self.publicModelNames = publicModelNames
            self.dataDirectory = dataDirectory
        }
    }

    /// The self-test's part of the status, read through a closure so that this service does not depend on
    /// how the self-test is run.
    public struct SelfTestStatus: Sendable, Hashable {
        /// The `selfTest` block (no prompts, no results).
        public var report: JSONValue?
        public var failed: Bool?
        public var stale: Bool?

        public init(report: JSONValue?, failed: Bool?, stale: Bool?) {
            self.report = report
            self.failed = failed
            self.stale = stale
        }
    }

    public let configuration: Configuration
    private let cluster: ClusterMembership?
    private let inventory: WorkerInventory?
    private let pool: (any WorkerPoolControlling)?
    private let jobStore: (any JobStore)?
    private let askService: AskService?
    private let selfTest: (@Sendable (Date) async -> SelfTestStatus)?
    private let errorRate: ErrorRateMonitor?
    private let record: SharedRecord?

    public init(
        configuration: Configuration,
        inventory: WorkerInventory?,
        pool: (any WorkerPoolControlling)?,
        jobStore: (any JobStore)?,
        askService: AskService?,
        selfTest: (@Sendable (Date) async -> SelfTestStatus)? = nil,
        errorRate: ErrorRateMonitor? = nil,
        record: SharedRecord?,
        cluster: ClusterMembership? = nil
    ) {
        self.cluster = cluster
        self.configuration = configuration
        self.errorRate = errorRate
        self.inventory = inventory
        self.pool = pool
        self.jobStore = jobStore
        self.askService = askService
        self.selfTest = selfTest
        self.record = record
    }

    /// Every replica the cluster knows; nil alone, or while the store cannot be read.
    private func replicas() async -> [ReplicaRecord]? {
        guard let cluster = self.cluster else { return nil }
        return try? await cluster.store.replicas()
    }

    public var heuristic: AutoHealHeuristic { AutoHealHeuristic(configuration: self.configuration.heuristic) }

    /// Everything read at `now`, before any projection.
    public func snapshot(now: Date) async -> WorkerStatusSnapshot {
        let listing = self.inventory?.list()
        let pool = self.pool?.status(now: now)
        // Read beside the queue's stats: with the store away, each waits out the store's deadline, once.
        async let sharedLastHeal = self.record?.value(for: .lastHeal)
        async let replicas = self.replicas()
        var queue: JobQueueStats?
        var queueError: String?
        if let jobStore = self.jobStore {
            do {
                queue = try await jobStore.stats(now: now)
            } catch {
                queueError = "the job store could not be read"
            }
        }
        let provider = self.askService?.client.report()
        let fallbacks = self.askService?.fallbackStats()
        let selfTest = await self.selfTest?(now)
        let lastHeal = await sharedLastHeal

        let names = self.configuration.publicModelNames
        var signals = HealthSignals(
            failingModules: (listing?.failing ?? []).map {
                .init(id: $0.id, reason: ErrorSummary.redact($0.error ?? "invalid definition"))
            },
            poolEnabled: pool?.runtime.enabled ?? false,
            poolStarted: pool?.runtime.started ?? false,
            configuredWorkers: pool?.runtime.configuredCount ?? 0,
            activeWorkers: pool?.runtime.activeListeners ?? 0,
            deadWorkers: pool?.supervisor.deadWorkers ?? [],
            hungWorkers: pool?.supervisor.hungWorkers ?? [],
            stormGuardTripped: pool?.supervisor.stormGuardTripped ?? false,
            modelConfigured: provider?.configured ?? false,
            // Findings and plans end up in the public view: they name models as it does.
            models: provider?.models.map { names.name(for: $0.model) } ?? [],
            openBreakers: provider?.models.filter { $0.breaker == .open }.map { names.name(for: $0.model) } ?? [],
            degradedSince: fallbacks?.degradedSince,
            degradedAnswers: fallbacks?.total ?? 0,
            selfTestFailed: selfTest?.failed,
            selfTestStale: selfTest?.stale,
            errorRateRising: self.errorRate?.isRising(at: now),
            queueDepth: queue?.depth,
            queueOldestAgeSeconds: queue?.oldestQueuedAgeSeconds,
            lastError: pool?.runtime.lastError.map { ErrorSummary.redact($0) }
        )
        let known = await replicas
        let alive = known.map { replicas in
            replicas.map { ($0, $0.isAlive(now: now, timeout: self.cluster!.replicaTimeout)) }
        }
        if let alive {
            signals.deadReplicas = alive.filter { !$0.1 }.map(\.0.id)
            signals.replicaPoolsDown = alive.filter { replica, isAlive in
                guard isAlive, replica.id != self.cluster?.replicaID, let pool = replica.pool else { return false }
                return pool.status != "Disabled" && pool.activeWorkers < pool.configuredCount
            }.map(\.0.id)
        }
        let assessment = self.heuristic.assess(signals)
        return WorkerStatusSnapshot(
            timestamp: now,
            configuration: self.configuration,
            listing: listing,
            runtime: pool?.runtime,
            supervisor: pool?.supervisor,
            queue: queue,
            queueError: queueError,
            provider: provider,
            fallbacks: fallbacks,
            selfTest: selfTest?.report,
            lastHeal: lastHeal,
            replicas: alive,
            replicaID: self.cluster?.replicaID,
            signals: signals,
            assessment: assessment
        )
    }
}

/// Everything the status service read at one instant. `payload(view:)` renders it.
public struct WorkerStatusSnapshot: Sendable {
    public var timestamp: Date
    public var configuration: WorkerStatusService.Configuration
    public var listing: WorkerInventoryListing?
    public var runtime: WorkerRuntimeStatus?
    public var supervisor: WorkerSupervisorStatus?
    public var queue: JobQueueStats?
    public var queueError: String?
    public var provider: LLMClientReport?
    public var fallbacks: FallbackStats?
    public var selfTest: JSONValue?
    public var lastHeal: JSONValue?
    /// Every replica the cluster knows, and whether it is alive; nil alone (or when the store is away).
    public var replicas: [(record: ReplicaRecord, alive: Bool)]?
    /// This replica's id in the cluster.
    public var replicaID: String?
    public var signals: HealthSignals
    public var assessment: AutoHealHeuristic.Assessment

    public var autoHeal: AutoHealSummary { AutoHealSummary(signals: self.signals, assessment: self.assessment) }

    public func payload(view: WorkerStatusPayload.View) -> WorkerStatusPayload {
        WorkerStatusPayload(snapshot: self, view: view)
    }

    public func runtimePayload(view: WorkerStatusPayload.View) -> WorkerStatusPayload.Runtime? {
        self.runtime.map { WorkerStatusPayload.Runtime($0, view: view) }
    }
}

/// The body of `GET /workers/status` (DESIGN §5). The `public` view is a projection: no prompt text, no
/// results, no absolute paths, errors as a category and a short redacted message. `detail` adds the input
/// preview, the last result, full error texts and the configured workers directory.
public struct WorkerStatusPayload: Sendable, Encodable {
    public enum View: String, Sendable, Hashable, Codable {
        case `public`, detail
    }

    public struct Worker: Sendable, Encodable {
        public var id: String
        public var description: String
        /// Relative to the workers directory.
        public var file: String
        public var kind: String?
        public var available: Bool
        public var error: ErrorSummary?
    }

    public struct ArcanosWorkers: Sendable, Encodable {
        public var enabled: Bool
        public var count: Int
        public var model: String
        /// `Active`, `Pending` or `Disabled`.
        public var status: String
        public var runtime: Runtime?
    }

    /// `arcanosWorkers.runtime`: the pool's dispatch bookkeeping.
    public struct Runtime: Sendable, Encodable {
        public var enabled: Bool
        public var model: String
        public var configuredCount: Int
        public var started: Bool
        public var startedAt: Date?
        public var activeListeners: Int
        public var workerIds: [String]
        public var totalDispatched: Int
        public var lastDispatchAt: Date?
        /// Detail view only.
        public var lastInputPreview: String?
        /// Detail view only.
        public var lastResult: String?
        public var lastError: ErrorSummary?
        var view: View

        public init(_ runtime: WorkerRuntimeStatus, view: View) {
            self.enabled = runtime.enabled
            self.model = runtime.model
            self.configuredCount = runtime.configuredCount
            self.started = runtime.started
            self.startedAt = runtime.startedAt
            self.activeListeners = runtime.activeListeners
            self.workerIds = runtime.workerIds
            self.totalDispatched = runtime.totalDispatched
            self.lastDispatchAt = runtime.lastDispatchAt
            self.view = view
            switch view {
            case .public:
                self.lastError = runtime.lastError.map { ErrorSummary($0) }
            case .detail:
                self.lastInputPreview = runtime.lastInputPreview
                self.lastResult = runtime.lastResult
                self.lastError = runtime.lastError.map {
                    ErrorSummary(category: ErrorSummary.classify($0), message: $0)
                }
            }
        }

        enum CodingKeys: String, CodingKey {
            case enabled, model, configuredCount, started, startedAt, activeListeners, workerIds, totalDispatched
            case lastDispatchAt, lastInputPreview, lastResult, lastError
        }

        public func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(self.enabled, forKey: .enabled)
            try container.encode(self.model, forKey: .model)
            try container.encode(self.configuredCount, forKey: .configuredCount)
            try container.encode(self.started, forKey: .started)
            try container.encode(self.startedAt, forKey: .startedAt)
            try container.encode(self.activeListeners, forKey: .activeListeners)
            try container.encode(self.workerIds, forKey: .workerIds)
            try container.encode(self.totalDispatched, forKey: .totalDispatched)
            try container.encode(self.lastDispatchAt, forKey: .lastDispatchAt)
            // The public projection leaves prompt text and results out entirely, not even as null.
            if self.view == .detail {
                try container.encode(self.lastInputPreview, forKey: .lastInputPreview)
                try container.encode(self.lastResult, forKey: .lastResult)
            }
            try container.encode(self.lastError, forKey: .lastError)
        }
    }

    public struct System: Sendable, Encodable {
        public var model: String
        public var environment: String
    }

    public struct Provider: Sendable, Encodable {
        public var configured: Bool
        public var allCircuitsOpen: Bool
        /// The limit on model calls in flight: in flight, waiting, shed (turned away as `overloaded`).
        public var admission: AdmissionLimiter.Snapshot?
        public var models: [LLMClientReport.Model]
        public var degradedSince: Date?
        public var fallbacks: FallbackStats?
    }

    public struct Queue: Sendable, Encodable {
        public var depth: Int?
        public var oldestQueuedAgeSeconds: Double?
        public var inFlight: Int?
        public var expiredLeases: Int?
        public var error: String?
    }

    public var timestamp: Date
    public var view: View
    public var workersDirectory: String
    public var totalWorkers: Int
    public var availableWorkers: Int
    public var workers: [Worker]
    public var arcanosWorkers: ArcanosWorkers
    public var system: System
    public var autoHeal: AutoHealSummary
    public var selfTest: JSONValue?
    public var provider: Provider?
    public var queue: Queue?
    public var supervisor: WorkerSupervisorStatus?
    public var lastHeal: JSONValue?
    /// Every replica of the cluster; null on a server alone.
    public var replicas: [Replica]?
    /// The heal watchdog (`ARCANOS_AUTO_HEAL`); set by the route from `HealWatchdog.report()`.
    public var watchdog: WatchdogReport? = nil

    init(snapshot: WorkerStatusSnapshot, view: View) {
        let directory = snapshot.configuration.workersDirectory
        self.timestamp = snapshot.timestamp
        self.view = view
        // The public view never shows where the server's files are; the detail view shows where they are
        // relative to the data directory, never as an absolute path.
        self.workersDirectory =
            switch view {
            case .public: URL(fileURLWithPath: directory).lastPathComponent
            case .detail: Self.relativePath(directory, to: snapshot.configuration.dataDirectory ?? ".")
            }
        let entries = snapshot.listing?.entries ?? []
        self.totalWorkers = entries.count
        self.availableWorkers = entries.filter(\.available).count
        self.workers = entries.map { entry in
            Worker(
                id: entry.id,
                description: entry.description,
                file: entry.file,
                kind: entry.kind,
                available: entry.available,
                error: entry.error.map {
                    view == .detail
                        ? ErrorSummary(category: .invalidDefinition, message: $0)
                        : ErrorSummary($0, category: .invalidDefinition)
                }
            )
        }
        // The detail view needs a key; the public one shows credential model ids as their aliases.
        let names = view == .detail ? PublicModelNames() : snapshot.configuration.publicModelNames
        let runtime = snapshot.runtime
        var runtimePayload = snapshot.runtimePayload(view: view)
        if let model = runtimePayload?.model { runtimePayload?.model = names.name(for: model) }
        self.arcanosWorkers = ArcanosWorkers(
            enabled: runtime?.enabled ?? false,
            count: runtime?.configuredCount ?? 0,
            model: names.name(for: runtime?.model ?? snapshot.configuration.systemModel),
            status: runtime.map(ReplicaPool.status(of:)) ?? "Disabled",
            runtime: runtimePayload
        )
        self.system = System(
            model: names.name(for: snapshot.configuration.systemModel),
            environment: snapshot.configuration.environment
        )
        self.autoHeal = snapshot.autoHeal
        self.selfTest = snapshot.selfTest
        self.provider = snapshot.provider.map { provider in
            Provider(
                configured: provider.configured,
                allCircuitsOpen: provider.allCircuitsOpen,
                admission: provider.admission,
                models: provider.models.map { model in
                    var model = model
                    model.model = names.name(for: model.model)
                    return model
                },
                degradedSince: snapshot.fallbacks?.degradedSince,
                fallbacks: snapshot.fallbacks
            )
        }
        if snapshot.queue != nil || snapshot.queueError != nil {
            self.queue = Queue(
                depth: snapshot.queue?.depth,
                oldestQueuedAgeSeconds: snapshot.queue?.oldestQueuedAgeSeconds,
                inFlight: snapshot.queue?.inFlight,
                expiredLeases: snapshot.queue?.expiredLeases,
                error: snapshot.queueError
            )
        }
        self.supervisor = snapshot.supervisor
        self.lastHeal = view == .detail ? snapshot.lastHeal : snapshot.lastHeal.map(Self.publicLastHeal)
        self.replicas = snapshot.replicas?.map { record, alive in
            Replica(
                id: record.id,
                current: record.id == snapshot.replicaID,
                startedAt: record.startedAt,
                lastSeenAt: record.lastSeenAt,
                alive: alive,
                address: view == .detail ? record.address : nil,
                pool: record.pool
            )
        }
    }

    /// A replica as the status shows it; the public view shows no address.
    public struct Replica: Encodable, Sendable {
        public var id: String
        /// The replica that answered.
        public var current: Bool
        public var startedAt: Date
        public var lastSeenAt: Date
        public var alive: Bool
        public var address: String?
        public var pool: ReplicaPool?
    }

    /// `path` relative to `base` (`workers`, `../workers`), both taken from the working directory when
    /// relative: the detail view says where the workers are without showing the server's file system.
    static func relativePath(_ path: String, to base: String) -> String {
        let current = FileManager.default.currentDirectoryPath
        func components(_ path: String) -> [String] {
            let absolute = path.hasPrefix("/") ? path : current + "/" + path
            return URL(fileURLWithPath: absolute).standardizedFileURL.pathComponents.filter { $0 != "/" }
        }
        let target = components(path)
        let origin = components(base)
        let shared = zip(target, origin).prefix { $0 == $1 }.count
        let parts = Array(repeating: "..", count: origin.count - shared) + target.dropFirst(shared)
        return parts.isEmpty ? "." : parts.joined(separator: "/")
    }

    /// `lastHeal` without the GPT id that confirmed it: a trusted id is a credential (sent as `x-gpt-id` it
    /// passes the confirmation gate), and the public view is unauthenticated.
    static func publicLastHeal(_ lastHeal: JSONValue) -> JSONValue {
        guard case .object(var object) = lastHeal, case .object(var confirmation)? = object["confirmation"] else {
            return lastHeal
        }
        if confirmation["gptId"] != nil { confirmation["gptId"] = .null }
        object["confirmation"] = .object(confirmation)
        return .object(object)
    }

    enum CodingKeys: String, CodingKey {
        case timestamp, view, workersDirectory, totalWorkers, availableWorkers, workers, arcanosWorkers, system
        case autoHeal, selfTest, provider, queue, supervisor, lastHeal, replicas, watchdog
    }

    // Absent blocks are written as null: clients see the same keys whatever is configured.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(self.timestamp, forKey: .timestamp)
        try container.encode(self.view, forKey: .view)
        try container.encode(self.workersDirectory, forKey: .workersDirectory)
        try container.encode(self.totalWorkers, forKey: .totalWorkers)
        try container.encode(self.availableWorkers, forKey: .availableWorkers)
        try container.encode(self.workers, forKey: .workers)
        try container.encode(self.arcanosWorkers, forKey: .arcanosWorkers)
        try container.encode(self.system, forKey: .system)
        try container.encode(self.autoHeal, forKey: .autoHeal)
        try container.encode(self.selfTest, forKey: .selfTest)
        try container.encode(self.provider, forKey: .provider)
        try container.encode(self.queue, forKey: .queue)
        try container.encode(self.supervisor, forKey: .supervisor)
        try container.encode(self.lastHeal, forKey: .lastHeal)
        try container.encode(self.replicas, forKey: .replicas)
        try container.encode(self.watchdog, forKey: .watchdog)
    }
}

extension JSONValue {
    /// `value` as a JSON document, dates as `2026-11-29T18:51:24.123Z`; nil if it does not encode.
    public init?(encoding value: some Encodable) {
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .iso8601Milliseconds
        guard let data = try? encoder.encode(value), let json = try? JSONDecoder().decode(JSONValue.self, from: data)
        else { return nil }
        self = json
    }
}
