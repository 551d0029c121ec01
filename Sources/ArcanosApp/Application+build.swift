import ArcanosCore
import ArcanosHTTP
import ArcanosLLM
import ArcanosPostgres
import ArcanosStore
import AsyncHTTPClient
import Foundation
import Logging
import ServiceLifecycle

/// The composition root: every service and route of a server, built from its configuration in dependency
/// order. `arcanos serve` runs what it returns; every live and router test of the whole server calls it too,
/// with its own configuration and, at most, the outside world replaced (`overrides`).
///
/// - Parameter onServerRunning: called with the port actually bound (`PORT=0` picks one).
public func buildApplication(
    configuration: AppConfiguration,
    logger: Logger,
    overrides: ApplicationOverrides = .init(),
    onServerRunning: @escaping @Sendable (Int) async -> Void = { _ in }
) throws -> ArcanosServer {
    // Model ids that pass the gate are credentials: labels and the public status show their aliases.
    let publicModelNames = PublicModelNames(configuration.confirmation.gate)
    let stores = try ServerStores(configuration: configuration, logger: logger)
    let replica = ReplicaRecord(
        id: ReplicaRecord.newID(),
        address: "\(configuration.server.host):\(configuration.server.port)",
        startedAt: Date(),
        lastSeenAt: Date()
    )
    // This replica's own samples for the dashboard's charts; named by replica only in a cluster.
    let history = MetricsHistoryRecorder(
        configuration: .init(interval: configuration.observability.historyInterval),
        replicaID: stores.postgres == nil ? nil : replica.id
    )
    let metrics = PrometheusExporter(modelNames: publicModelNames, history: history)
    let model = configuration.model
    let httpClient = HTTPClient(
        eventLoopGroupProvider: .singleton,
        configuration: OpenAIChatProvider.httpClientConfiguration(maximumConnections: model.maxConnections)
    )
    // One limit on model calls in flight and one prober, shared by every client built below; in a cluster,
    // their breakers are the cluster's.
    let limiter = AdmissionLimiter(configuration: .init(limit: model.maxInFlight), metrics: metrics.metrics)
    let prober = ModelProber()
    let sharedBreakers = stores.postgres.map {
        SharedBreakers(
            configuration: .init(replicaID: replica.id, probeLease: model.timeout),
            store: $0.cluster,
            logger: logger
        )
    }
    let provider: (any LLMProvider)? =
        overrides.modelProvider
        ?? model.apiKey.map { apiKey in
            OpenAIChatProvider(httpClient: httpClient, configuration: .init(baseURL: model.baseURL, apiKey: apiKey))
        }
    // `/ask` uses the chain of AI_MODEL; a worker module with a model of its own gets the same client
    // settings over that model, then FALLBACK_MODEL.
    let makeClient: @Sendable (String) -> ResilientLLMClient = { primary in
        ResilientLLMClient(
            provider: provider,
            configuration: .init(
                models: model.chain(primary: primary),
                callTimeout: model.timeout,
                retry: .init(maxAttempts: model.maxAttempts),
                breaker: .init(
                    failureThreshold: model.breakerThreshold,
                    openDuration: model.breakerOpen,
                    maximumOpenDuration: model.breakerMaxOpen
                )
            ),
            logger: logger,
            metrics: metrics.metrics,
            limiter: limiter,
            prober: prober,
            shared: sharedBreakers
        )
    }
    let client = makeClient(model.model)
    if provider == nil {
        logger.warning("OPENAI_API_KEY is not set: /ask answers in degraded mode")
    }
    let askService = AskService(
        client: client,
        configuration: .init(
            cacheCapacity: configuration.fallback.cacheCapacity,
            cacheTimeToLive: configuration.fallback.cacheTimeToLive
        ),
        metrics: metrics.metrics
    )
    let workers = try WorkerPoolParts(
        configuration: configuration,
        stores: stores,
        client: client,
        makeClient: makeClient,
        logger: logger,
        metrics: metrics.metrics
    )
    metrics.addSampler(workers.metricsSampler)
    // With a shared database the replicas form a cluster: one of them at a time does each singleton job, and
    // a heal restarts every replica's pool.
    let clusterStore = stores.postgres?.cluster
    let sharedState = stores.sharedState
    let leadership = Leadership()
    let singletons: SingletonGate = clusterStore == nil ? .alone : .cluster(leadership)
    let membership = clusterStore.map {
        ClusterMembership(store: $0, replicaID: replica.id, replicaTimeout: configuration.database.replicaTimeout)
    }
    // One gate for every gated route and the token route.
    let confirmation = ConfirmationService(configuration: configuration.confirmation.gate, store: sharedState)
    // The one writer of systemState.json, mirroring the shared record.
    let state = ArcanosServer.makeStateManager(dataDirectory: configuration.server.dataDirectory, logger: logger)
    let record = SharedRecord(store: sharedState, state: state, logger: logger)
    let selfTest = SelfTestPipeline(
        configuration: .init(
            interval: configuration.selfTest.interval,
            prompts: configuration.selfTest.prompts,
            promptTimeout: configuration.selfTest.promptTimeout,
            baseURL: configuration.selfTest.baseURL,
            targetModel: configuration.model.model,
            apiKey: configuration.auth.apiKeys.first
        ),
        // The shared client never follows redirects, as the self-test requires.
        transport: overrides.selfTestTransport ?? HTTPClientSelfTestTransport(httpClient: httpClient),
        healthLog: HealthCheckLog(
            storage: SystemStateFile(directory: configuration.server.dataDirectory, name: HealthCheckLog.relativePath),
            logger: logger
        ),
        record: record,
        logger: logger,
        metrics: metrics.metrics
    )
    // Auto-heal (docs/auto-heal.md).
    let healAudit = stores.audit
    let workerStatus = WorkerStatusService(
        configuration: .init(
            workersDirectory: configuration.workers.directory,
            systemModel: model.model,
            environment: configuration.server.environment,
            heuristic: .init(queueAgeWarning: configuration.heal.queueAgeWarning),
            publicModelNames: publicModelNames,
            dataDirectory: configuration.server.dataDirectory
        ),
        inventory: workers.inventory,
        pool: workers.supervisor,
        jobStore: stores.jobs,
        askService: askService,
        selfTest: { now in
            let signals = await selfTest.signals(now: now)
            return .init(
                report: JSONValue(encoding: await selfTest.report(now: now)),
                failed: signals.failed,
                stale: signals.stale
            )
        },
        errorRate: workers.errorRate,
        record: record,
        cluster: membership
    )
    let heal = HealService(
        configuration: .init(
            rateLimit: .init(maximum: configuration.heal.rateLimitMax, window: configuration.heal.rateLimitWindow),
            verificationTimeout: configuration.heal.verificationTimeout
        ),
        status: workerStatus,
        planner: RecoveryPlanner(
            client: client,
            configuration: .init(
                aiEnabled: configuration.heal.aiPlanner,
                aiDeadline: configuration.heal.aiTimeout,
                heuristic: .init(queueAgeWarning: configuration.heal.queueAgeWarning)
            ),
            logger: logger,
            metrics: metrics.metrics
        ),
        pool: workers.supervisor,
        record: record,
        limits: sharedState,
        // Every heal, plan-only and watchdog ones too, counted in arcanos_heals_total{source, outcome}.
        audit: MeteredAuditLog(healAudit, metrics: metrics.metrics),
        logger: logger,
        cluster: membership
    )
    let cluster = clusterStore.map { store in
        ClusterService(
            configuration: .init(timeout: configuration.database.replicaTimeout),
            replica: replica,
            store: store,
            leadership: leadership,
            clock: ContinuousClock(),
            logger: logger,
            pool: { now in ReplicaPool(workers.supervisor.status(now: now).runtime) },
            runRestart: { restart in await heal.runPart(of: restart) }
        )
    }
    let watchdog = HealWatchdog(
        configuration: .init(mode: configuration.watchdog.mode, interval: configuration.watchdog.interval),
        assess: { now in await workerStatus.snapshot(now: now).assessment },
        healer: heal,
        logger: logger,
        metrics: metrics.metrics
    )
    var dependencies = HTTPDependencies(
        configuration: configuration.http,
        askService: askService,
        readiness: [DataDirectoryReadiness(path: configuration.server.dataDirectory)] + workers.readiness,
        confirmation: confirmation,
        metrics: metrics,
        workers: workers.dispatcher
    )
    dependencies.selfTest = selfTest
    dependencies.autoHeal = AutoHealRoutes(status: workerStatus, heal: heal, audit: healAudit, watchdog: watchdog)
    let host = configuration.server.host
    let router = buildRouter(dependencies)
    // PostgreSQL first: the pool and the retention sweep wait for its migrations; then its job notifications
    // and the cluster's heartbeats.
    var databaseServices: [any Service] = []
    if let postgres = stores.postgres { databaseServices.append(postgres.database) }
    if let notifier = workers.notifier { databaseServices.append(notifier) }
    if let cluster { databaseServices.append(cluster) }
    if let sharedBreakers { databaseServices.append(sharedBreakers) }
    let application = buildHTTPApplication(
        router: router,
        configuration: dependencies.configuration,
        // In dependency order, before the HTTP server, which starts last; the group shuts them down in
        // reverse, so the HTTP client outlives every request that may still use it.
        services: databaseServices + [
            HTTPClientService(client: httpClient),
            prober,
            workers.supervisor,
            JobRetentionService(
                store: stores.jobs,
                retention: configuration.workers.jobRetention,
                clock: ContinuousClock(),
                logger: logger,
                gate: singletons
            ),
            // First of the rest, so a corrupt systemState.json is moved aside before requests arrive.
            SystemStateLoadService(state: state, logger: logger),
            SelfTestService(pipeline: selfTest, clock: ContinuousClock(), logger: logger, gate: singletons),
            HealWatchdogService(watchdog: watchdog, clock: ContinuousClock(), logger: logger, gate: singletons),
            MetricsHistoryService(
                recorder: history,
                gauges: { [store = stores.jobs] now in
                    MetricsHistory.Gauges(
                        report: client.report(),
                        queue: try? await store.stats(now: now),
                        modelNames: publicModelNames
                    )
                },
                clock: ContinuousClock()
            ),
        ],
        logger: logger,
        onServerRunning: { port in
            // The self-test probes the address actually bound (PORT=0 picks one).
            await selfTest.serverRunning(host: host, port: port)
            await onServerRunning(port)
        }
    )
    return ArcanosServer(
        configuration: configuration,
        askService: askService,
        confirmation: confirmation,
        metrics: metrics,
        workers: workers,
        state: state,
        selfTest: selfTest,
        heal: heal,
        workerStatus: workerStatus,
        watchdog: watchdog,
        routes: router.routeDescriptions,
        application: application
    )
}

extension AppConfiguration {
    /// The part the HTTP layer is configured with.
    public var http: HTTPConfiguration {
        HTTPConfiguration(
            host: self.server.host,
            port: self.server.port,
            maximumBodyBytes: self.server.maximumBodyBytes,
            idleTimeout: self.server.idleTimeout,
            headerTimeout: self.server.headerTimeout,
            authPolicy: self.auth.policy,
            degradesPreemptively: self.degradesPreemptively,
            firstTokenTimeout: self.model.firstTokenTimeout,
            automationHeader: self.confirmation.automationHeader,
            metricsEnabled: self.observability.metricsEnabled,
            metricsRequireKey: self.observability.metricsRequireKey,
            publicURL: self.observability.publicURL
        )
    }
}
