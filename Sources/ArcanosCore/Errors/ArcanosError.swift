/// The one error type of Arcanos. Its `code` is stable: it appears in JSON bodies and as a metric label.
public struct ArcanosError: Error, Sendable, CustomStringConvertible {
    /// Stable identifiers. They appear in JSON bodies and as metric labels, so never rename one.
    public enum Code: String, Sendable, CaseIterable {
        case invalidRequest = "invalid_request"
        case unauthorized = "unauthorized"
        case forbidden = "forbidden"
        case notFound = "not_found"
        /// A model that is neither configured nor an alias (`/v1/chat/completions`).
        case modelNotFound = "model_not_found"
        case methodNotAllowed = "method_not_allowed"
        case payloadTooLarge = "payload_too_large"
        /// A request body that is not `application/json`.
        case unsupportedMediaType = "unsupported_media_type"
        case rateLimited = "rate_limited"
        case llmUnavailable = "llm_unavailable"
        case circuitOpen = "circuit_open"
        case notReady = "not_ready"
        /// The shared store (PostgreSQL) did not answer in time; the routes that need it answer this, fast.
        case storeUnavailable = "store_unavailable"
        case stateCorrupted = "state_corrupted"
        case configurationInvalid = "configuration_invalid"
        case internalError = "internal_error"
        /// A `POST /workers/heal` body with wrong types, unknown keys or modes, or conflicting flags.
        case invalidWorkerHealRequest = "INVALID_WORKER_HEAL_REQUEST"
    }

    public var code: Code
    /// Safe to show a client: no prompts, keys or upstream bodies.
    public var message: String
    /// When a client may try again; rendered as `Retry-After` by the HTTP layer.
    public var retryAfter: Duration?
    /// For logs only; never rendered into a response.
    public var underlying: (any Error)?
    /// Safe, structured specifics rendered as `details` in the body (for example which field is wrong).
    public var details: JSONValue?

    public init(
        _ code: Code,
        _ message: String,
        retryAfter: Duration? = nil,
        underlying: (any Error)? = nil,
        details: JSONValue? = nil
    ) {
        self.code = code
        self.message = message
        self.retryAfter = retryAfter
        self.underlying = underlying
        self.details = details
    }

    // Deliberately omits `underlying`: descriptions end up in client-visible places.
    public var description: String { "\(self.code.rawValue): \(self.message)" }
}

extension ArcanosError {
    public static func invalidRequest(_ message: String) -> Self { .init(.invalidRequest, message) }

    public static func configuration(variable: String, accepts: String, got value: String) -> Self {
        .init(.configurationInvalid, "\(variable) must be \(accepts); got \"\(value)\"")
    }
}
