import ArcanosCore
import ArcanosHTTP
import ArcanosLLM
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
    let services: [any Service]

    init(
        configuration: AppConfiguration,
        logger: Logger,
        onServerRunning: @escaping @Sendable (Int) async -> Void = { _ in }
    ) throws {
        self.configuration = configuration
        self.metrics = PrometheusExporter()
        let httpClient = HTTPClient(
            eventLoopGroupProvider: .singleton,
            configuration: .init(
                redirectConfiguration: .disallow,
                timeout: .init(connect: .seconds(5)),
                connectionPool: .init(idleTimeout: .seconds(60), concurrentHTTP1ConnectionsPerHostSoftLimit: 64)
            )
        )
        let model = configuration.model
        let provider = model.apiKey.map { apiKey in
            OpenAIChatProvider(httpClient: httpClient, configuration: .init(baseURL: model.baseURL, apiKey: apiKey))
        }
        let client = ResilientLLMClient(
            provider: provider,
            configuration: .init(
                models: model.chain,
                callTimeout: model.timeout,
                retry: .init(maxAttempts: model.maxAttempts),
                breaker: .init(failureThreshold: model.breakerThreshold, openDuration: model.breakerCooldown)
            ),
            logger: logger,
            metrics: self.metrics.metrics
        )
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
            makeClient: { [metrics = self.metrics] workerModel in
                ResilientLLMClient(
                    provider: provider,
                    configuration: .init(
                        models: [workerModel] + (model.fallbackModel.map { [$0] } ?? []),
                        callTimeout: model.timeout,
                        retry: .init(maxAttempts: model.maxAttempts),
                        breaker: .init(failureThreshold: model.breakerThreshold, openDuration: model.breakerCooldown)
                    ),
                    logger: logger,
                    metrics: metrics.metrics
                )
            },
            logger: logger,
            metrics: self.metrics.metrics
        )
        self.metrics.addSampler(self.workers.metricsSampler)
        let application = buildApplication(
            HTTPDependencies(
                configuration: configuration,
                askService: self.askService,
                readiness: [DataDirectoryReadiness(path: configuration.server.dataDirectory)] + self.workers.readiness,
                confirmation: self.confirmation,
                metrics: self.metrics,
                workers: self.workers.dispatcher
            ),
            logger: logger,
            onServerRunning: onServerRunning
        )
        // Listed in dependency order; the group shuts them down in reverse, so the HTTP client outlives
        // every request that may still use it.
        self.services = [HTTPClientService(client: httpClient), self.workers.supervisor, application]
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

/// Owns the shared HTTP client: idle until shutdown, then closes its connections.
struct HTTPClientService: Service {
    let client: HTTPClient

    func run() async throws {
        try? await gracefulShutdown()
        try await self.client.shutdown()
    }
}
