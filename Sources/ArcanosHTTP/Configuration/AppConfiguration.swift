import ArcanosCore

/// Everything `arcanos serve` is configured with, nested per component. Read once at start-up
/// (`AppConfiguration+ConfigReader.swift`) and passed down; nothing else reads the environment.
public struct AppConfiguration: Sendable {
    public enum LogFormat: String, Sendable, CaseIterable {
        case text, json
    }

    public struct Server: Sendable {
        /// Address to listen on (`HOST`).
        public var host = "127.0.0.1"
        /// Port to listen on (`PORT`); 0 picks a free one.
        public var port = 8080
        /// Where state files live (`ARCANOS_DATA_DIR`).
        public var dataDirectory = "."
        /// Largest request body accepted (`ARCANOS_MAX_BODY_BYTES`); larger bodies get 413.
        public var maximumBodyBytes = 1 << 20
        /// `text` or `json` lines (`ARCANOS_LOG_FORMAT`).
        public var logFormat = LogFormat.text
        /// Minimum log level (`ARCANOS_LOG_LEVEL`).
        public var logLevel = "info"
        /// Deployment environment name (`ARCANOS_ENV`).
        public var environment = "development"

        public init() {}
    }

    public struct Auth: Sendable {
        /// Operator keys for `Authorization: Bearer` (`ARCANOS_API_KEYS`, comma separated).
        public var apiKeys: [String] = []
        /// Serve a non-loopback address without keys (`ARCANOS_ALLOW_UNAUTHENTICATED`).
        public var allowUnauthenticated = false

        public init() {}

        public var policy: APIKeyPolicy { APIKeyPolicy(keys: self.apiKeys, allowUnauthenticated: self.allowUnauthenticated) }
    }

    public struct Model: Sendable {
        /// `OPENAI_API_KEY`; without it the server runs degraded.
        public var apiKey: String?
        /// `OPENAI_BASE_URL`.
        public var baseURL = "https://api.openai.com/v1"
        /// Deadline of one model call, retries included (`OPENAI_TIMEOUT_MS`).
        public var timeout: Duration = .seconds(15)
        /// The primary model: `AI_MODEL`, else `OPENAI_MODEL`, else `FINETUNED_MODEL_ID`.
        public var model = "gpt-4o-mini"
        /// Tried when the primary model fails (`FALLBACK_MODEL`).
        public var fallbackModel: String?
        /// `FINETUNED_MODEL_ID`, kept on its own: the confirmation gate trusts it.
        public var fineTunedModelID: String?
        /// Consecutive failures that open a model's breaker (`OPENAI_BREAKER_THRESHOLD`).
        public var breakerThreshold = 5
        /// How long an open breaker rejects calls (`OPENAI_BREAKER_COOLDOWN_MS`).
        public var breakerCooldown: Duration = .seconds(30)
        /// Attempts per model, the first included (`OPENAI_MAX_ATTEMPTS`).
        public var maxAttempts = 3

        public init() {}

        public var chain: [String] { [self.model] + (self.fallbackModel.map { [$0] } ?? []) }
    }

    public struct Fallback: Sendable {
        /// Answer degraded at once when no model is configured (`FALLBACK_PREEMPTIVE`).
        public var preemptive = false
        /// Environments that behave as if `FALLBACK_PREEMPTIVE=true` (`FALLBACK_STRICT_ENVIRONMENTS`).
        public var strictEnvironments = ["production"]
        /// Good answers kept for degraded mode (`FALLBACK_CACHE_MAX_ENTRIES`).
        public var cacheCapacity = 512
        /// How long a kept answer may be served (`FALLBACK_CACHE_TTL_MS`).
        public var cacheTimeToLive: Duration = .seconds(900)

        public init() {}
    }

    public var server = Server()
    public var auth = Auth()
    public var model = Model()
    public var fallback = Fallback()

    public init() {}

    /// Whether AI routes answer degraded without trying when no model is configured.
    public var degradesPreemptively: Bool {
        self.fallback.preemptive || self.fallback.strictEnvironments.contains(self.server.environment)
    }
}
