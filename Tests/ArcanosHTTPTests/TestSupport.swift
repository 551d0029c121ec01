import ArcanosApp
import ArcanosCore
import ArcanosHTTP
import ArcanosTesting
import AsyncHTTPClient
import Configuration
import Foundation
import Hummingbird
import Logging
import NIOCore
import NIOFoundationCompat
import NIOHTTP1
import ServiceLifecycle

let quietLogger = Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() })

/// A fresh, empty directory under the system temporary directory.
func makeTemporaryDirectory() -> String {
    let path = FileManager.default.temporaryDirectory.appendingPathComponent("arcanos-test-\(UUID().uuidString)").path
    try! FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    return path
}

/// The whole server, from the composition root, with an in-process model: what router tests run against.
struct RouterHarness {
    let server: ArcanosServer
    var configuration: AppConfiguration { self.server.configuration }
    var askService: AskService { self.server.askService }
    /// The server's Prometheus registry, shared by the model client, the ask service and `/metrics`.
    var exporter: PrometheusExporter { self.server.metrics }

    init(
        provider: ScriptedLLMProvider?,
        maxAttempts: Int = 1,
        breakerThreshold: Int = 5,
        selfTestTransport: (any SelfTestTransport)? = nil,
        logger: Logger = quietLogger,
        configure: (inout AppConfiguration) -> Void = { _ in }
    ) {
        var configuration = AppConfiguration()
        configuration.server.dataDirectory = makeTemporaryDirectory()
        configuration.model.model = "test-model"
        configuration.model.timeout = .seconds(10)
        configuration.model.maxAttempts = maxAttempts
        configuration.model.breakerThreshold = breakerThreshold
        configuration.model.breakerOpen = .seconds(60)
        // Router tests have no socket for the self-test to reach.
        configuration.selfTest.interval = nil
        configure(&configuration)
        self.server = try! buildApplication(
            configuration: configuration,
            logger: logger,
            overrides: .init(modelProvider: provider, selfTestTransport: selfTestTransport)
        )
    }

    func makeApplication() -> HTTPApplication { self.server.application }
}

/// Configuration as `arcanos serve` reads it, from the given environment instead of the process's.
func configuration(environment: [String: String]) throws -> AppConfiguration {
    try AppConfiguration(
        reader: ConfigReader(provider: EnvironmentVariablesProvider(environmentVariables: environment))
    )
}

/// Runs the real server wiring (`buildApplication`, the same as `arcanos serve`) on an ephemeral loopback port.
func withLiveServer<Result: Sendable>(
    environment: [String: String],
    _ body: @Sendable (_ baseURL: String) async throws -> Result
) async throws -> Result {
    try await withLiveServerInstance(environment: environment) { baseURL, _ in try await body(baseURL) }
}

/// `withLiveServer`, also handing over the running `ArcanosServer` (its data directory, self-test, watchdog).
/// - Parameter dataDirectory: nil starts from a fresh, empty one.
func withLiveServerInstance<Result: Sendable>(
    environment: [String: String],
    dataDirectory: String? = nil,
    _ body: @Sendable (_ baseURL: String, _ server: ArcanosServer) async throws -> Result
) async throws -> Result {
    var configuration = try configuration(environment: environment)
    configuration.server.port = 0
    configuration.server.dataDirectory = dataDirectory ?? makeTemporaryDirectory()
    let (ports, continuation) = AsyncStream.makeStream(of: Int.self)
    let server = try buildApplication(configuration: configuration, logger: quietLogger) { continuation.yield($0) }
    let group = ServiceGroup(configuration: .init(services: [server.application], logger: quietLogger))
    return try await withThrowingTaskGroup(of: Void.self) { tasks in
        tasks.addTask { try await group.run() }
        var iterator = ports.makeAsyncIterator()
        guard let port = await iterator.next() else { throw CancellationError() }
        do {
            let result = try await body("http://127.0.0.1:\(port)", server)
            await group.triggerGracefulShutdown()
            try await tasks.waitForAll()
            return result
        } catch {
            tasks.cancelAll()
            throw error
        }
    }
}

struct LiveResponse {
    var status: Int
    var headers: [String: String]
    var body: String
    var elapsed: Duration

    var json: [String: Any] {
        (try? JSONSerialization.jsonObject(with: Data(self.body.utf8))) as? [String: Any] ?? [:]
    }
}

func post(_ url: String, json: String, headers: [String: String] = [:]) async throws -> LiveResponse {
    var request = HTTPClientRequest(url: url)
    request.method = .POST
    request.headers.add(name: "content-type", value: "application/json")
    for (name, value) in headers { request.headers.add(name: name, value: value) }
    request.body = .bytes(ByteBuffer(string: json))
    return try await send(request)
}

func get(_ url: String) async throws -> LiveResponse {
    try await send(HTTPClientRequest(url: url))
}

/// Sends `request` through a real socket and collects the whole answer.
func send(_ request: HTTPClientRequest) async throws -> LiveResponse {
    let start = ContinuousClock.now
    let response = try await HTTPClient.shared.execute(request, timeout: .seconds(30))
    let body = try await response.body.collect(upTo: 4 << 20)
    var collected: [String: String] = [:]
    for header in response.headers { collected[header.name.lowercased()] = header.value }
    return LiveResponse(
        status: Int(response.status.code),
        headers: collected,
        body: String(buffer: body),
        elapsed: start.duration(to: .now)
    )
}

extension Dictionary where Key == String, Value == Any {
    subscript(path path: String) -> Any? {
        var current: Any? = self
        for key in path.split(separator: ".") {
            current = (current as? [String: Any])?[String(key)]
        }
        return current
    }
}

/// The HTTP layer alone over parts a test builds by hand: for router tests of one component with a fake
/// beside it (a scripted pool, an in-memory audit, a test clock). Tests of the whole server use
/// `RouterHarness` or `withLiveServer`, which go through the composition root.
func componentApplication(
    _ configuration: AppConfiguration,
    askService: AskService,
    readiness: [any ReadinessReporting] = [],
    confirmation: ConfirmationService? = nil,
    services: [any Service] = [],
    logger: Logger = quietLogger,
    routes: (inout HTTPDependencies) -> Void = { _ in }
) -> HTTPApplication {
    var dependencies = HTTPDependencies(
        configuration: configuration.http,
        askService: askService,
        readiness: readiness,
        confirmation: confirmation ?? ConfirmationService(configuration: configuration.confirmation.gate)
    )
    routes(&dependencies)
    return buildHTTPApplication(
        router: buildRouter(dependencies),
        configuration: dependencies.configuration,
        services: services,
        logger: logger
    )
}
