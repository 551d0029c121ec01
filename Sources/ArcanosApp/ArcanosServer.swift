import ArcanosCore
import ArcanosHTTP
import ArcanosLLM
import ArcanosStore
import AsyncHTTPClient
import Foundation
import Logging
import NIOCore
import ServiceLifecycle

/// Builds every part of a running server from its configuration, in dependency order. The executable
/// runs `services` in one ServiceGroup; live tests use the same wiring.
struct ArcanosServer {
    let configuration: AppConfiguration
    let askService: AskService
    let confirmation: ConfirmationService
    /// The Prometheus registry of `GET /metrics`; every component records into `metrics.metrics`.
    let metrics: PrometheusExporter
    /// The job store, the worker inventory, the supervised pool and the dispatcher the routes use (DESIGN §6).
    let workers: WorkerPoolParts
    /// `systemState.json`, merged under one actor.
    let state: SystemStateManager
    /// The self-test pipeline, shared by its periodic service and `POST /devops/self-test`.
    let selfTest: SelfTestPipeline
    /// The one heal path: `POST /workers/heal` and the watchdog heal through it (same audit, same rate limit).
    let heal: HealService
    /// What `GET /workers/status` reports and the heuristic reads.
    let workerStatus: WorkerStatusService
    /// Heals on its own when severity stays critical (`ARCANOS_AUTO_HEAL`), through `heal`.
    let watchdog: HealWatchdog
    let services: [any Service]

    init(
        configuration: AppConfiguration,
        logger: Logger,
        onServerRunning: @escaping @Sendable (Int) async -> Void = { _ in }
    ) throws {
        self.configuration = configuration
        // Model ids that pass the gate are credentials: labels and the public status show their aliases.
        let publicModelNames = PublicModelNames(configuration.confirmation.gate)
        self.metrics = PrometheusExporter(modelNames: publicModelNames)
        let model = configuration.model
        let httpClient = HTTPClient(
            eventLoopGroupProvider: .singleton,
            configuration: OpenAIChatProvider.httpClientConfiguration(maximumConnections: model.maxConnections)
        )
        // One limit on model calls in flight and one prober, shared by every client built below.
        let limiter = AdmissionLimiter(configuration: .init(limit: model.maxInFlight), metrics: self.metrics.metrics)
        let prober = ModelProber()
        let provider = model.apiKey.map { apiKey in
            OpenAIChatProvider(httpClient: httpClient, configuration: .init(baseURL: model.baseURL, apiKey: apiKey))
        }
        // `/ask` uses the chain of AI_MODEL; a worker module with a model of its own gets the same client
        // settings over that model, then FALLBACK_MODEL.
        let makeClient: @Sendable (String) -> ResilientLLMClient = { [metrics = self.metrics] primary in
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
                prober: prober
            )
        }
        let client = makeClient(model.model)
        if provider == nil {
            logger.warning("OPENAI_API_KEY is not set: /ask answers in degraded mode")
        }
        self.askService = AskService(
            client: client,
            configuration: .init(
                cacheCapacity: configuration.fallback.cacheCapacity,
                cacheTimeToLive: configuration.fallback.cacheTimeToLive
            ),
            metrics: self.metrics.metrics
        )
        // One gate state for every gated route and the token route.
        self.confirmation = ConfirmationService(configuration: configuration.confirmation.gate)
        self.workers = try WorkerPoolParts(
            configuration: configuration,
            client: client,
            makeClient: makeClient,
            logger: logger,
            metrics: self.metrics.metrics
        )
        self.metrics.addSampler(self.workers.metricsSampler)
        // The one writer of systemState.json.
        self.state = Self.makeStateManager(dataDirectory: configuration.server.dataDirectory, logger: logger)
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
            transport: HTTPClientSelfTestTransport(httpClient: httpClient),
            healthLog: HealthCheckLog(
                storage: SystemStateFile(
                    directory: configuration.server.dataDirectory,
                    name: HealthCheckLog.relativePath
                ),
                logger: logger
            ),
            state: self.state,
            logger: logger,
            metrics: self.metrics.metrics
        )
        self.selfTest = selfTest
        // Auto-heal (docs/auto-heal.md). The audit lives in arcanos.sqlite beside the jobs, on the same
        // connection pool; the table's migrations are named apart.
        let healAudit = try SQLiteHealAuditLog(sharingDatabaseOf: self.workers.store)
        self.workerStatus = WorkerStatusService(
            configuration: .init(
                workersDirectory: configuration.workers.directory,
                systemModel: model.model,
                environment: configuration.server.environment,
                heuristic: .init(queueAgeWarning: configuration.heal.queueAgeWarning),
                publicModelNames: publicModelNames,
                dataDirectory: configuration.server.dataDirectory
            ),
            inventory: self.workers.inventory,
            pool: self.workers.supervisor,
            jobStore: self.workers.store,
            askService: self.askService,
            selfTest: { now in
                let signals = await selfTest.signals(now: now)
                return .init(
                    report: JSONValue(encoding: await selfTest.report(now: now)),
                    failed: signals.failed,
                    stale: signals.stale
                )
            },
            errorRate: self.workers.errorRate,
            state: self.state
        )
        self.heal = HealService(
            configuration: .init(
                rateLimit: .init(maximum: configuration.heal.rateLimitMax, window: configuration.heal.rateLimitWindow),
                verificationTimeout: configuration.heal.verificationTimeout
            ),
            status: self.workerStatus,
            planner: RecoveryPlanner(
                client: client,
                configuration: .init(
                    aiEnabled: configuration.heal.aiPlanner,
                    aiDeadline: configuration.heal.aiTimeout,
                    heuristic: .init(queueAgeWarning: configuration.heal.queueAgeWarning)
                ),
                logger: logger,
                metrics: self.metrics.metrics
            ),
            pool: self.workers.supervisor,
            state: self.state,
            // Every heal, plan-only and watchdog ones too, counted in arcanos_heals_total{source, outcome}.
            audit: MeteredAuditLog(healAudit, metrics: self.metrics.metrics),
            logger: logger
        )
        var dependencies = HTTPDependencies(
            configuration: configuration,
            askService: self.askService,
            readiness: [DataDirectoryReadiness(path: configuration.server.dataDirectory)] + self.workers.readiness,
            confirmation: self.confirmation,
            metrics: self.metrics,
            workers: self.workers.dispatcher
        )
        dependencies.selfTest = selfTest
        let workerStatus = self.workerStatus
        self.watchdog = HealWatchdog(
            configuration: .init(mode: configuration.watchdog.mode, interval: configuration.watchdog.interval),
            assess: { now in await workerStatus.snapshot(now: now).assessment },
            healer: self.heal,
            logger: logger,
            metrics: self.metrics.metrics
        )
        dependencies.autoHeal = AutoHealRoutes(status: self.workerStatus, heal: self.heal, audit: healAudit)
        dependencies.autoHeal?.watchdog = self.watchdog
        let host = configuration.server.host
        let application = buildApplication(
            dependencies,
            logger: logger,
            onServerRunning: { port in
                // The self-test probes the address actually bound (PORT=0 picks one).
                await selfTest.serverRunning(host: host, port: port)
                await onServerRunning(port)
            }
        )
        // Listed in dependency order; the group shuts them down in reverse, so the HTTP client outlives
        // every request that may still use it.
        self.services = [
            HTTPClientService(client: httpClient),
            prober,
            self.workers.supervisor,
            JobRetentionService(
                store: self.workers.store,
                retention: configuration.workers.jobRetention,
                clock: ContinuousClock(),
                logger: logger
            ),
            // First of the rest, so a corrupt systemState.json is moved aside before requests arrive.
            SystemStateLoadService(state: self.state, logger: logger),
            SelfTestService(pipeline: selfTest, clock: ContinuousClock(), logger: logger),
            HealWatchdogService(watchdog: self.watchdog, clock: ContinuousClock(), logger: logger),
            application,
        ]
    }

    /// The version written into `systemState.json`.
    static let stateVersion = "0.1.0"

    /// `systemState.json` in `dataDirectory`; the server and `arcanos selftest` write it the same way.
    static func makeStateManager(dataDirectory: String, logger: Logger) -> SystemStateManager {
        SystemStateManager(
            storage: SystemStateFile(directory: dataDirectory),
            version: Self.stateVersion,
            logger: logger
        )
    }

    static func bootstrapLogging(_ server: AppConfiguration.Server) -> Logger {
        let level = Logger.Level(rawValue: server.logLevel) ?? .info
        switch server.logFormat {
        case .text:
            LoggingSystem.bootstrap { label in
                var handler = StreamLogHandler.standardError(label: label)
                handler.logLevel = level
                // Every line goes through the one redactor: keys, secrets, bearer tokens, long prompts.
                return RedactingLogHandler(handler)
            }
        case .json:
            LoggingSystem.bootstrap { label in
                var handler = JSONLogHandler(label: label)
                handler.logLevel = level
                return RedactingLogHandler(handler)
            }
        }
        return Logger(label: "arcanos")
    }
}

/// Loads `systemState.json` at start-up (quarantining a corrupt file), then idles until shutdown.
struct SystemStateLoadService: Service {
    let state: SystemStateManager
    let logger: Logger

    func run() async throws {
        do {
            try await self.state.load()
        } catch {
            // The server still serves; the next write retries and reports again.
            self.logger.error("systemState.json could not be loaded", metadata: ["error": "\(error)"])
        }
        try? await gracefulShutdown()
    }
}

/// Owns the shared HTTP client: idle until shutdown, then closes its connections.
struct HTTPClientService: Service {
    let client: HTTPClient

    func run() async throws {
        try? await gracefulShutdown()
        try await self.client.shutdown()
    }
}
