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
    let live = try await LiveServer(environment: environment, dataDirectory: dataDirectory)
    do {
        let result = try await body(live.url, live.server)
        try await live.stop()
        return result
    } catch {
        await live.kill()
        throw error
    }
}

/// A whole server from `buildApplication`, on a real socket on loopback (`PORT=0`), started and ended by the
/// test: `stop()` shuts it down gracefully, `kill()` cancels it outright, which leaves its cluster leases to run
/// out as a crashed process's would.
final class LiveServer: Sendable {
    let url: String
    let server: ArcanosServer
    private let group: ServiceGroup
    private let task: Task<Void, any Error>

    /// Returns once the server listens. - Parameter dataDirectory: nil starts from a fresh, empty one.
    init(environment: [String: String], dataDirectory: String? = nil) async throws {
        var configuration = try configuration(environment: environment)
        configuration.server.port = 0
        configuration.server.dataDirectory = dataDirectory ?? makeTemporaryDirectory()
        let (ports, continuation) = AsyncStream.makeStream(of: Int.self)
        let server = try buildApplication(configuration: configuration, logger: quietLogger) {
            continuation.yield($0)
        }
        let group = ServiceGroup(configuration: .init(services: [server.application], logger: quietLogger))
        let task = Task {
            defer { continuation.finish() }
            try await group.run()
        }
        var iterator = ports.makeAsyncIterator()
        guard let port = await iterator.next() else {
            // It ended before listening: its error says why.
            try await task.value
            throw CancellationError()
        }
        self.url = "http://127.0.0.1:\(port)"
        self.server = server
        self.group = group
        self.task = task
    }

    /// Graceful shutdown; throws what the server's services threw.
    func stop() async throws {
        await self.group.triggerGracefulShutdown()
        try await self.task.value
    }

    func kill() async {
        self.task.cancel()
        _ = try? await self.task.value
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
