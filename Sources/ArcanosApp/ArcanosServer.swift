import ArcanosCore
import ArcanosHTTP
import ArcanosLLM
import ArcanosStore
import AsyncHTTPClient
import Foundation
import Logging
import NIOCore
import ServiceLifecycle
import UnixSignals

/// What a test may put in place of the outside world. Everything else is built from the configuration, the
/// same way for `arcanos serve` and for every test that runs the server.
public struct ApplicationOverrides: Sendable {
    /// The model behind every client, in place of the one at `OPENAI_BASE_URL`.
    public var modelProvider: (any LLMProvider)?
    /// How the self-test reaches the server's own `/ask`, in place of HTTP.
    public var selfTestTransport: (any SelfTestTransport)?

    public init(modelProvider: (any LLMProvider)? = nil, selfTestTransport: (any SelfTestTransport)? = nil) {
        self.modelProvider = modelProvider
        self.selfTestTransport = selfTestTransport
    }
}

/// Every part of a running server, built by `buildApplication(configuration:)`. `application` is the one
/// service group: the HTTP server and every service beside it. `arcanos serve` runs it (`run()`); live tests
/// run it on a free port, router tests drive it without a socket.
public struct ArcanosServer: Sendable {
    public let configuration: AppConfiguration
    public let askService: AskService
    public let confirmation: ConfirmationService
    /// The Prometheus registry of `GET /metrics`; every component records into `metrics.metrics`.
    public let metrics: PrometheusExporter
    /// The job store, the worker inventory, the supervised pool and the dispatcher the routes use (DESIGN §6).
    public let workers: WorkerPoolParts
    /// `systemState.json`, merged under one actor.
    public let state: SystemStateManager
    /// The self-test pipeline, shared by its periodic service and `POST /devops/self-test`.
    public let selfTest: SelfTestPipeline
    /// The one heal path: `POST /workers/heal` and the watchdog heal through it (same audit, same rate limit).
    public let heal: HealService
    /// What `GET /workers/status` reports and the heuristic reads.
    public let workerStatus: WorkerStatusService
    /// Heals on its own when severity stays critical (`ARCANOS_AUTO_HEAL`), through `heal`.
    public let watchdog: HealWatchdog
    /// Every route the router serves, as `METHOD /path/{parameter}`.
    public let routes: [String]
    /// The HTTP server with every other service, started in dependency order and shut down in reverse.
    public let application: HTTPApplication

    /// Runs the server and its services until SIGTERM or SIGINT.
    public func run(logger: Logger) async throws {
        let group = ServiceGroup(
            configuration: .init(
                services: [self.application],
                gracefulShutdownSignals: [.sigterm, .sigint],
                logger: logger
            )
        )
        try await group.run()
    }

    /// The version written into `systemState.json`.
    public static let stateVersion = "0.1.0"

    /// `systemState.json` in `dataDirectory`; the server and `arcanos selftest` write it the same way.
    public static func makeStateManager(dataDirectory: String, logger: Logger) -> SystemStateManager {
        SystemStateManager(
            storage: SystemStateFile(directory: dataDirectory),
            version: Self.stateVersion,
            logger: logger
        )
    }

    public static func bootstrapLogging(_ server: AppConfiguration.Server) -> Logger {
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
