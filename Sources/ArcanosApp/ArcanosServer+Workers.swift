import ArcanosCore
import ArcanosHTTP
import ArcanosPostgres
import Foundation
import Logging

/// The worker side of the server: the durable job store (PostgreSQL when `DATABASE_URL` is set, otherwise
/// `arcanos.sqlite` in `ARCANOS_DATA_DIR`), the inventory, the supervised pool and the dispatcher the routes use.
public struct WorkerPoolParts: Sendable {
    public let store: any JobStore & ReadinessReporting
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
        stores: ServerStores,
        client: ResilientLLMClient,
        makeClient: @escaping @Sendable (String) -> ResilientLLMClient,
        logger: Logger,
        metrics: ArcanosMetrics = .disabled
    ) throws {
        let pool = configuration.workers.pool
        let signals = JobQueueSignals()
        self.store = stores.jobs
        self.notifier = stores.postgres.flatMap { postgres in
            pool.enabled
                ? PostgresJobNotifier(
                    database: postgres.database,
                    store: postgres.jobs,
                    signals: signals,
                    catchUpWakeUps: pool.workerCount,
                    logger: logger
                ) : nil
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
