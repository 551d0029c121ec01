/// Why a model call failed, classified once so the breaker, the retry policy and degraded mode agree.
public struct LLMFailure: Error, Sendable, Hashable, CustomStringConvertible {
    /// Stable; used as `x-arcanos-degraded-reason` and as a metric label.
    public enum Kind: String, Sendable, Hashable, CaseIterable, Codable {
        case rateLimited = "rate_limited"
        case serverError = "server_error"
        case timeout = "timeout"
        case connection = "connection"
        case invalidResponse = "invalid_response"
        /// Any other 4xx: our request or our credentials are wrong, not the provider's health.
        case rejected = "rejected"
        case notConfigured = "not_configured"
        case circuitOpen = "circuit_open"
        /// Local saturation, not the model's health: no admission slot in time, a wait for a pooled
        /// connection, or a deadline that ran out before the request left.
        case overloaded = "overloaded"

        /// Failures that say the provider is unhealthy and so move its breaker.
        public var countsTowardBreaker: Bool {
            switch self {
            case .rateLimited, .serverError, .timeout, .connection, .invalidResponse: true
            case .rejected, .notConfigured, .circuitOpen, .overloaded: false
            }
        }

        /// Failures of the request itself, not of the model's availability: waiting for the model would not help.
        public var isRequestFault: Bool {
            switch self {
            case .rejected, .notConfigured: true
            case .rateLimited, .serverError, .timeout, .connection, .invalidResponse, .circuitOpen, .overloaded: false
            }
        }

        /// Failures worth another attempt at the same model.
        public var isRetryable: Bool {
            switch self {
            case .rateLimited, .serverError, .timeout, .connection: true
            // Another attempt at an overloaded client only adds to the queue it could not get through.
            case .invalidResponse, .rejected, .notConfigured, .circuitOpen, .overloaded: false
            }
        }
    }

    public var kind: Kind
    /// HTTP status of the upstream answer, when there was one.
    public var statusCode: Int?
    /// The upstream's `Retry-After`, or how long an open breaker stays open.
    public var retryAfter: Duration?
    /// For logs only: never rendered into a response (it may quote the upstream).
    public var detail: String
    /// Try the next model at once instead of this one again: a stream that missed its first-token deadline,
    /// whose point is to be answered by the fallback in time.
    public var skipsRetries: Bool

    public init(
        _ kind: Kind,
        statusCode: Int? = nil,
        retryAfter: Duration? = nil,
        detail: String = "",
        skipsRetries: Bool = false
    ) {
        self.kind = kind
        self.statusCode = statusCode
        self.retryAfter = retryAfter
        self.detail = detail
        self.skipsRetries = skipsRetries
    }

    public var description: String {
        var text = self.kind.rawValue
        if let statusCode { text += " (HTTP \(statusCode))" }
        if !self.detail.isEmpty { text += ": \(self.detail)" }
        return text
    }
}
