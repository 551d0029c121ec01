import ArcanosCore
import ArcanosHTTP
import ArcanosPostgres
import ArcanosStore
import Foundation
import Logging

/// The worker side of the server: the durable job store (PostgreSQL when `DATABASE_URL` is set, otherwise
/// `arcanos.sqlite` in `ARCANOS_DATA_DIR`), the inventory, the supervised pool and the dispatcher the routes use.
public struct WorkerPoolParts: Sendable {
    public let store: any JobStore & ReadinessReporting
    /// Where the jobs are, and the heal audit beside them.
    let storage: Storage
    public let inventory: WorkerInventory
    public let supervisor: WorkerSupervisor<ContinuousClock>
    public let dispatcher: WorkerDispatcher
    /// On PostgreSQL with the pool running: wakes it for jobs other replicas make claimable.
    let notifier: PostgresJobNotifier?
    /// The `error_rate_rising` signal of `GET /workers/status`, fed by the pool's finished attempts.
    public let errorRate = ErrorRateMonitor()

    /// - Parameters:
    ///   - client: the `/ask` model client; prompt tasks on its model share it (breaker included).
    ///   - makeClient: a client over the same provider for another model.
    init(
        configuration: AppConfiguration,
        client: ResilientLLMClient,
        makeClient: @escaping @Sendable (String) -> ResilientLLMClient,
        logger: Logger,
        metrics: ArcanosMetrics = .disabled
    ) throws {
        let pool = configuration.workers.pool
        let signals = JobQueueSignals()
        if let url = configuration.database.url {
            // Migrated when its service starts (the jobs and the heal audit, which lives beside them); the
            // stores' first queries wait for that.
            let database = try PostgresDatabaseService(
                url: url,
                source: "DATABASE_URL",
                poolSize: configuration.database.poolSize,
                migrations: PostgresJobStore.migrations + PostgresHealAuditLog.migrations
                    + PostgresSharedStateStore.migrations + PostgresClusterStore.migrations,
                logger: logger
            )
            let store = PostgresJobStore(database: database, logger: logger)
            self.storage = .postgres(database)
            self.store = store
            self.notifier =
                pool.enabled
                ? PostgresJobNotifier(
                    database: database,
                    store: store,
                    signals: signals,
                    catchUpWakeUps: pool.workerCount,
                    logger: logger
                ) : nil
        } else {
            // Opening migrates the schema before any service starts, so the pool never sees an old one.
            let store = try SQLiteJobStore(path: configuration.server.sqlitePath)
            self.storage = .sqlite(store)
            self.store = store
            self.notifier = nil
        }
        self.inventory = WorkerInventory(directory: configuration.workers.directory)
        let executor = ModuleTaskExecutor(
            inventory: self.inventory,
            clients: WorkerModelClients(primary: client, make: makeClient),
            poolModel: pool.model,
            poolTimeout: pool.taskTimeout,
            poolMaxAttempts: pool.maxAttempts
        )
        var workerLogger = logger
        workerLogger[metadataKey: "component"] = "workers"
        self.supervisor = WorkerSupervisor(
            configuration: pool,
            store: self.store,
            executor: executor,
            signals: signals,
            clock: ContinuousClock(),
            logger: workerLogger,
            onEvent: { [errorRate] event in
                metrics.record(event)
                errorRate.record(event, at: Date())
            }
        )
        self.dispatcher = WorkerDispatcher(
            configuration: pool,
            inventory: self.inventory,
            store: self.store,
            executor: executor,
            signals: signals,
            pool: self.supervisor,
            logger: workerLogger
        )
        let listing = self.inventory.list()
        logger.info(
            "worker inventory loaded",
            metadata: [
                "workers.directory": "\(configuration.workers.directory)", "workers.modules": "\(listing.totalWorkers)",
                "workers.available": "\(listing.availableWorkers)",
            ]
        )
    }

    /// Chosen by `DATABASE_URL`.
    enum Storage: Sendable {
        /// `arcanos.sqlite` in the data directory: the heal audit shares the job store's connection pool.
        case sqlite(SQLiteJobStore)
        /// A service, started before the pool.
        case postgres(PostgresDatabaseService)
    }

    /// What `/metrics` reads at each scrape: pool size, the supervisor's restart, hang and storm counts, and
    /// the queue.
    var metricsSampler: PrometheusExporter.Sampler {
        { [supervisor, store] in
            let now = Date()
            let (runtime, status) = supervisor.status(now: now)
            var sample = ArcanosMetrics.Sample()
            sample.activeWorkers = runtime.activeListeners
            sample.workerRestarts = status.restarts
            sample.workerHangs = status.hangs
            sample.workerRestartStorms = status.storms
            if let stats = try? await store.stats(now: now) {
                sample.queueDepth = stats.depth
                sample.queueOldestAgeSeconds = stats.oldestQueuedAgeSeconds
                sample.queueInFlight = stats.inFlight
            }
            return sample
        }
    }

    /// `/ready`: the job store answers and the pool has started (or is disabled on purpose).
    var readiness: [any ReadinessReporting] { [self.store, WorkerPoolReadiness(pool: self.supervisor)] }
}

extension AppConfiguration.Server {
    /// `arcanos.sqlite` in the data directory: where the jobs and the heal audit are without `DATABASE_URL`.
    var sqlitePath: String {
        URL(fileURLWithPath: self.dataDirectory).appendingPathComponent(SQLiteJobStore.fileName).path
    }
}
