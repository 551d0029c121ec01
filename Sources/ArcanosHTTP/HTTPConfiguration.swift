import ArcanosCore

/// What the HTTP layer is configured with: the listening address, the edge limits and which routes answer
/// how. The composition root fills it from `AppConfiguration` (`AppConfiguration.http`), where every default
/// lives; nothing here reads the environment or repeats a default.
public struct HTTPConfiguration: Sendable {
    public var host: String
    /// 0 picks a free port.
    public var port: Int
    /// Largest request body accepted; larger bodies get 413.
    public var maximumBodyBytes: Int
    /// How long a connection may go without completing a request part before it is closed.
    public var idleTimeout: Duration
    /// How long a connection may take, from when it opens, to send its first request head.
    public var headerTimeout: Duration
    /// Operator keys, and whether a keyless server may serve more than loopback.
    public var authPolicy: APIKeyPolicy
    /// Whether AI routes answer degraded without trying when no model is configured.
    public var degradesPreemptively: Bool
    /// How long a stream on `/v1/chat/completions` waits for its first token before the next model is tried.
    public var firstTokenTimeout: Duration
    /// The header that carries a trusted automation's id, as the OpenAPI document names it.
    public var automationHeader: String
    public var metricsEnabled: Bool
    public var metricsRequireKey: Bool
    /// The base URL `/openapi.json` names as its server, when set.
    public var publicURL: String?

    public init(
        host: String,
        port: Int,
        maximumBodyBytes: Int,
        idleTimeout: Duration,
        headerTimeout: Duration,
        authPolicy: APIKeyPolicy,
        degradesPreemptively: Bool,
        firstTokenTimeout: Duration,
        automationHeader: String,
        metricsEnabled: Bool,
        metricsRequireKey: Bool,
        publicURL: String?
    ) {
        self.host = host
        self.port = port
        self.maximumBodyBytes = maximumBodyBytes
        self.idleTimeout = idleTimeout
        self.headerTimeout = headerTimeout
        self.authPolicy = authPolicy
        self.degradesPreemptively = degradesPreemptively
        self.firstTokenTimeout = firstTokenTimeout
        self.automationHeader = automationHeader
        self.metricsEnabled = metricsEnabled
        self.metricsRequireKey = metricsRequireKey
        self.publicURL = publicURL
    }
}
