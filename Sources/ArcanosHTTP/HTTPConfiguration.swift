import ArcanosCore

/// What the HTTP layer is configured with: the listening address, the edge limits and which routes answer
/// how. The composition root fills it from `AppConfiguration`; nothing here reads the environment.
public struct HTTPConfiguration: Sendable {
    public var host = "127.0.0.1"
    /// 0 picks a free port.
    public var port = 8080
    /// Largest request body accepted; larger bodies get 413.
    public var maximumBodyBytes = 1 << 20
    /// How long a connection may go without completing a request part before it is closed.
    public var idleTimeout: Duration = .milliseconds(30_000)
    /// How long a connection may take, from when it opens, to send its first request head.
    public var headerTimeout: Duration = .milliseconds(10_000)
    /// Operator keys and whether a keyless server may serve more than loopback.
    public var authPolicy = APIKeyPolicy(keys: [], allowUnauthenticated: false)
    /// Whether AI routes answer degraded without trying when no model is configured.
    public var degradesPreemptively = false
    /// The header that carries a trusted automation's id, as the OpenAPI document names it.
    public var automationHeader = ConfirmationRequest.Header.defaultAutomation
    public var metricsEnabled = true
    public var metricsRequireKey = false
    /// The base URL `/openapi.json` names as its server, when set.
    public var publicURL: String?

    public init() {}
}
