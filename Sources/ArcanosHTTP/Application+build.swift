import ArcanosCore
import Foundation
import Hummingbird
import HummingbirdCore
import Logging
import ServiceLifecycle

/// What the HTTP layer needs from the rest of Arcanos, built by the composition root
/// (`buildApplication(configuration:)` in ArcanosApp); router tests of one component pass their own.
public struct HTTPDependencies: Sendable {
    public var configuration: HTTPConfiguration
    public var askService: AskService
    public var readiness: [any ReadinessReporting]
    /// The confirmation gate's state, shared by every gated route and `POST /confirm/tokens`.
    public var confirmation: ConfirmationService
    /// The registry behind `GET /metrics`; components built for this server record into `metrics.metrics`.
    public var metrics: PrometheusExporter
    /// The worker pool behind `POST /workers/run/:workerId` and `/jobs`; nil leaves those routes out.
    public var workers: WorkerDispatcher? = nil
    /// The self-test behind `POST /devops/self-test`; nil leaves the route out.
    public var selfTest: SelfTestPipeline? = nil
    /// `GET /workers/status`, `POST /workers/heal` and `GET /workers/heals`; nil leaves them out.
    public var autoHeal: AutoHealRoutes? = nil

    public init(
        configuration: HTTPConfiguration,
        askService: AskService,
        readiness: [any ReadinessReporting],
        confirmation: ConfirmationService,
        metrics: PrometheusExporter = PrometheusExporter(),
        workers: WorkerDispatcher? = nil
    ) {
        self.configuration = configuration
        self.askService = askService
        self.readiness = readiness
        self.confirmation = confirmation
        self.metrics = metrics
        self.workers = workers
    }
}

/// Every route and middleware of the server.
public func buildRouter(_ dependencies: HTTPDependencies) -> Router<AppRequestContext> {
    let configuration = dependencies.configuration
    let router = Router(context: AppRequestContext.self)
    let routeTable = RouteTable()
    let gatedRoutes = RouteTable()
    router.addMiddleware {
        ConfirmationEdgeMiddleware(service: dependencies.confirmation, gatedRoutes: gatedRoutes)
        RequestObservationMiddleware(metrics: dependencies.metrics.metrics)
        ErrorMiddleware()
        LoopbackHostMiddleware(policy: configuration.authPolicy)
        MethodNotAllowedMiddleware(routes: routeTable)
        RequestBodyMiddleware(limit: configuration.maximumBodyBytes)
    }

    HealthController(readiness: dependencies.readiness, startedAt: Date()).addRoutes(to: router)
    // Needs the automation secret, not an operator key (DESIGN §3).
    ConfirmationController(service: dependencies.confirmation).addRoutes(to: router)

    let authenticated = router.group().add(middleware: APIKeyMiddleware(policy: configuration.authPolicy))
    if configuration.metricsEnabled {
        let metricsRoutes = configuration.metricsRequireKey ? authenticated : router.group()
        MetricsController(exporter: dependencies.metrics).addRoutes(to: metricsRoutes)
    }
    // AI routes, matched exactly: only these answer degraded.
    AskController(askService: dependencies.askService).addRoutes(
        to: authenticated.group("ask")
            .add(middleware: AIFallbackMiddleware(askService: dependencies.askService))
            .add(
                middleware: AIHealthCheckMiddleware(
                    client: dependencies.askService.client,
                    preemptive: configuration.degradesPreemptively
                )
            )
    )
    OpenAICompatibleController(
        client: dependencies.askService.client,
        askService: dependencies.askService,
        firstTokenTimeout: configuration.firstTokenTimeout,
        startedAt: Date()
    ).addRoutes(to: authenticated.group("v1"))
    let autoHeal = dependencies.autoHeal.map { AutoHealController(routes: $0, policy: configuration.authPolicy) }
    autoHeal?.addRoutes(public: router, authenticated: authenticated)
    let jobs = dependencies.workers.map { JobsController(dispatcher: $0) }
    jobs?.addReadRoutes(to: authenticated.group("jobs"))
    // Mutating control routes, running work included: behind the confirmation gate (DESIGN §4).
    let ungated = Set(router.routes.map(\.description))
    if let selfTest = dependencies.selfTest {
        DevOpsController(selfTest: selfTest).addRoutes(
            to: authenticated.confirmationGated("devops", dependencies.confirmation)
        )
    }
    autoHeal?.addGatedRoutes(to: authenticated.confirmationGated("workers", dependencies.confirmation))
    if let workers = dependencies.workers {
        WorkersController(dispatcher: workers).addRoutes(
            to: authenticated.confirmationGated("workers", dependencies.confirmation)
        )
    }
    jobs?.addCreateRoute(to: authenticated.confirmationGated("jobs", dependencies.confirmation))
    gatedRoutes.set(
        router.routes.filter { !ungated.contains($0.description) }
            .map { (method: $0.method.rawValue, path: $0.path.description) }
    )
    addOperatorRoutes(to: router, configuration: configuration)
    routeTable.set(router.routes.map { (method: $0.method.rawValue, path: $0.path.description) })
    return router
}

/// The dashboard and `GET /openapi.json`. Called last: the document lists every route registered before it.
private func addOperatorRoutes(to router: Router<AppRequestContext>, configuration: HTTPConfiguration) {
    DashboardController().addRoutes(to: router)
    let routes =
        router.routes.map { OpenAPIDocument.Route(method: $0.method.rawValue, path: $0.path.description) }
        + [OpenAPIDocument.Route(method: "GET", path: "/openapi.json")]
    OpenAPIController(
        document: OpenAPIDocument(
            routes: routes,
            automationHeader: configuration.automationHeader,
            metricsRequireKey: configuration.metricsRequireKey
        ),
        publicURL: configuration.publicURL,
        fallbackHost: "\(configuration.host):\(configuration.port)"
    ).addRoutes(to: router)
}

extension Router where Context == AppRequestContext {
    /// Every route registered, as `METHOD /path/{parameter}`.
    public var routeDescriptions: [String] { self.routes.map { "\($0.method.rawValue) \($0.path.description)" } }
}

/// The HTTP server of Arcanos: the router on the configured address, plus `services` run beside it.
public typealias HTTPApplication = Application<RouterResponder<AppRequestContext>>

/// The Hummingbird application serving `router` (from `buildRouter`) on the configured address.
public func buildHTTPApplication(
    router: Router<AppRequestContext>,
    configuration server: HTTPConfiguration,
    services: [any Service] = [],
    logger: Logger,
    onServerRunning: @escaping @Sendable (Int) async -> Void = { _ in }
) -> HTTPApplication {
    Application(
        router: router,
        // A connection that completes no request part for the idle timeout is closed: silent, idle between
        // requests, or trickling its head or body; one whose first head is not in by the header timeout too.
        server: HTTPServerBuilder { responder in
            HeaderDeadlineHTTP1Channel(
                http1: HTTP1Channel(responder: responder, configuration: .init(idleTimeout: .init(server.idleTimeout))),
                headerTimeout: .init(server.headerTimeout)
            )
        },
        // A burst of clients connecting at once (a load spike) queues in the kernel instead of being dropped.
        configuration: .init(address: .hostname(server.host, port: server.port), serverName: "arcanos", backlog: 4096),
        services: services,
        onServerRunning: { channel in await onServerRunning(channel.localAddress?.port ?? server.port) },
        logger: logger
    )
}
