import ArcanosCore
import ArcanosPostgres

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
        /// How long a connection may go without completing a request part — idle between requests, or
        /// trickling a head or a body — before it is closed (`ARCANOS_HTTP_IDLE_TIMEOUT_MS`).
        public var idleTimeout: Duration = .milliseconds(30_000)
        /// How long a connection may take, from when it opens, to send its first request head
        /// (`ARCANOS_HTTP_HEADER_TIMEOUT_MS`).
        public var headerTimeout: Duration = .milliseconds(10_000)

        public init() {}
    }

    public struct Auth: Sendable {
        /// Operator keys for `Authorization: Bearer` (`ARCANOS_API_KEYS`, comma separated).
        public var apiKeys: [String] = []
        /// Serve a non-loopback address without keys (`ARCANOS_ALLOW_UNAUTHENTICATED`).
        public var allowUnauthenticated = false

        public init() {}

        public var policy: APIKeyPolicy {
            APIKeyPolicy(keys: self.apiKeys, allowUnauthenticated: self.allowUnauthenticated)
        }
    }

    public struct Model: Sendable {
        /// `OPENAI_API_KEY`; without it the server runs degraded.
        public var apiKey: String?
        /// `OPENAI_BASE_URL`.
        public var baseURL = "https://api.openai.com/v1"
        /// Deadline of one model call, retries included (`OPENAI_TIMEOUT_MS`).
        public var timeout: Duration = .seconds(15)
        /// How long a stream of `/v1/chat/completions` waits for its first token before the next model is
        /// tried (`OPENAI_FIRST_TOKEN_TIMEOUT_MS`); within `timeout`.
        public var firstTokenTimeout: Duration = .seconds(10)
        /// The primary model: `AI_MODEL`, else `OPENAI_MODEL`, else `FINETUNED_MODEL_ID`.
        public var model = "gpt-4o-mini"
        /// Tried when the primary model fails (`FALLBACK_MODEL`).
        public var fallbackModel: String?
        /// `FINETUNED_MODEL_ID`, kept on its own: the confirmation gate trusts it.
        public var fineTunedModelID: String?
        /// Consecutive failures that open a model's breaker (`OPENAI_BREAKER_THRESHOLD`).
        public var breakerThreshold = 5
        /// The first open time of a breaker (`OPENAI_BREAKER_OPEN_MS`, alias `OPENAI_BREAKER_COOLDOWN_MS`);
        /// each failed probe doubles it.
        public var breakerOpen: Duration = .seconds(1)
        /// The cap of the open time (`OPENAI_BREAKER_MAX_OPEN_MS`).
        public var breakerMaxOpen: Duration = .seconds(60)
        /// Model calls in flight at once, all models and callers together (`OPENAI_MAX_IN_FLIGHT`).
        public var maxInFlight = 1024
        /// Upstream connections per host (`OPENAI_MAX_CONNECTIONS`, default and minimum `maxInFlight`).
        public var maxConnections = 1024
        /// Attempts per model, the first included (`OPENAI_MAX_ATTEMPTS`).
        public var maxAttempts = 3

        public init() {}

        public var chain: [String] { self.chain(primary: self.model) }

        /// `primary`, then `FALLBACK_MODEL` when one is set.
        public func chain(primary: String) -> [String] { [primary] + (self.fallbackModel.map { [$0] } ?? []) }
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

    /// The worker inventory and the supervised core pool (DESIGN §6).
    public struct Workers: Sendable {
        /// Where worker module definitions live (`ARCANOS_WORKERS_DIR`).
        public var directory = "./workers"
        /// The pool: `RUN_WORKERS`, `WORKER_COUNT`, `WORKER_MODEL` (default: the AI model), leases, heartbeats,
        /// deadlines and the restart-storm guard (`SAFETY_WORKER_RESTART_*`).
        public var pool = WorkerPoolConfiguration()
        /// How long finished jobs are kept (`JOB_RETENTION_MS`, default 7 days); nil keeps them for ever.
        public var jobRetention: Duration? = .seconds(7 * 86_400)

        public init() {}
    }

    /// The confirmation gate of mutating control routes (docs/confirmation.md).
    public struct Confirmation: Sendable {
        /// GPT ids trusted on `x-gpt-id` (`TRUSTED_GPT_IDS`, comma separated; `*` lets everyone through).
        public var trustedGPTIDs: [String] = []
        /// Let every request through the gate (`ALLOW_ALL_GPTS`).
        public var allowAllGPTs = false
        /// Shared secret of trusted automations (`ARCANOS_AUTOMATION_SECRET`); also needed to mint tokens.
        public var automationSecret: String?
        /// Header carrying the secret (`ARCANOS_AUTOMATION_HEADER`); a custom name replaces the default.
        public var automationHeader = ConfirmationRequest.Header.defaultAutomation
        /// How long a challenge can be used (`CONFIRMATION_CHALLENGE_TTL_MS`).
        public var challengeTimeToLive: Duration = .milliseconds(120_000)
        /// How long a one-time token can be used (`ARCANOS_CONFIRM_TOKEN_TTL_MS`).
        public var tokenTimeToLive: Duration = .milliseconds(600_000)
        /// Most challenges held at once (`ARCANOS_CONFIRM_CHALLENGE_MAX`); the oldest goes first.
        public var challengeCapacity = 10_000
        /// Failed automation-secret attempts per client address on `POST /confirm/tokens` per window
        /// (`ARCANOS_CONFIRM_TOKEN_RATE_LIMIT_MAX`).
        public var tokenRateLimitMax = 5
        /// Its window (`ARCANOS_CONFIRM_TOKEN_RATE_LIMIT_WINDOW_MS`).
        public var tokenRateLimitWindow: Duration = .milliseconds(60_000)
        /// `FINE_TUNED_AUTOMATION_GPT_ID`; trusted when it is a fine-tuned (`ft:`) id.
        public var fineTunedAutomationGPTID: String?
        /// The raw `AI_MODEL`, `OPENAI_MODEL` and `FINETUNED_MODEL_ID`; every `ft:` one is trusted.
        public var configuredModelIDs: [String] = []

        public init() {}

        public var gate: ConfirmationPolicy.Configuration {
            .init(
                trustedGPTIDs: self.trustedGPTIDs,
                configuredModelIDs: self.configuredModelIDs + (self.fineTunedAutomationGPTID.map { [$0] } ?? []),
                allowAllGPTs: self.allowAllGPTs,
                automationSecret: self.automationSecret,
                automationHeader: self.automationHeader,
                challengeTimeToLive: self.challengeTimeToLive,
                tokenTimeToLive: self.tokenTimeToLive,
                challengeCapacity: self.challengeCapacity,
                tokenFailureLimit: .init(maximum: self.tokenRateLimitMax, window: self.tokenRateLimitWindow)
            )
        }
    }

    /// `GET /metrics` and the operator surface (README "Operating it").
    public struct Observability: Sendable {
        /// Serve `GET /metrics` (`ARCANOS_METRICS_ENABLED`).
        public var metricsEnabled = true
        /// `GET /metrics` needs an operator key like other authenticated routes (`ARCANOS_METRICS_REQUIRE_KEY`).
        public var metricsRequireKey = false
        /// The server URL `GET /openapi.json` names (`ARCANOS_PUBLIC_URL`); else the request's host.
        public var publicURL: String?
        /// Time between the samples of `GET /metrics/history` (`ARCANOS_HISTORY_INTERVAL_MS`).
        public var historyInterval: Duration = .milliseconds(5000)

        public init() {}
    }

    /// The periodic self-test against this server's own `/ask` (DESIGN §8).
    public struct SelfTest: Sendable {
        /// Time between runs, ±10% jitter (`SELF_TEST_INTERVAL_MS`); nil when `0` turned it off.
        public var interval: Duration? = .milliseconds(300_000)
        /// Where `/ask` is reached (`SELF_TEST_BASE_URL`); nil: the address the server bound.
        public var baseURL: String?
        /// The readiness prompts (`SELF_TEST_PROMPTS`, a JSON array).
        public var prompts = SelfTestPrompt.defaults
        /// Deadline of one prompt (`SELF_TEST_TIMEOUT_MS`).
        public var promptTimeout: Duration = .seconds(30)

        public init() {}
    }

    /// The heal watchdog (DESIGN §8).
    public struct Watchdog: Sendable {
        /// `off`, `plan` or `execute` (`ARCANOS_AUTO_HEAL`).
        public var mode = WatchdogMode.off
        /// Time between checks (`ARCANOS_AUTO_HEAL_INTERVAL_MS`).
        public var interval: Duration = .milliseconds(10_000)

        public init() {}
    }

    /// Recovery plans and `POST /workers/heal` (DESIGN §5, docs/auto-heal.md).
    public struct Heal: Sendable {
        /// Heal requests one caller may make per window (`ARCANOS_HEAL_RATE_LIMIT_MAX`).
        public var rateLimitMax = 5
        /// The rate-limit window (`ARCANOS_HEAL_RATE_LIMIT_WINDOW_MS`).
        public var rateLimitWindow: Duration = .milliseconds(60_000)
        /// Ask the model to refine plans that are not ok (`ARCANOS_HEAL_AI`).
        public var aiPlanner = true
        /// How long a plan waits for the model before using the heuristic (`ARCANOS_HEAL_AI_TIMEOUT_MS`).
        public var aiTimeout: Duration = .milliseconds(8_000)
        /// A queue whose oldest task waited longer is a warning (`ARCANOS_HEAL_QUEUE_AGE_WARNING_MS`).
        public var queueAgeWarning: Duration = .milliseconds(60_000)
        /// How long a heal waits for every worker to be active again (`ARCANOS_HEAL_VERIFY_TIMEOUT_MS`).
        public var verificationTimeout: Duration = .milliseconds(2_000)

        public init() {}
    }

    /// Where the job store lives: PostgreSQL when a URL is set, otherwise SQLite in the data directory.
    public struct Database: Sendable {
        /// `DATABASE_URL`; nil keeps the jobs in `arcanos.sqlite` in `ARCANOS_DATA_DIR`.
        public var url: PostgresURL?
        /// Connections to PostgreSQL at most, per process (`ARCANOS_DATABASE_POOL_SIZE`).
        public var poolSize = 20
        /// With PostgreSQL: a replica silent this long is dead, and a singleton lease it stopped renewing is
        /// free (`ARCANOS_REPLICA_TIMEOUT_MS`).
        public var replicaTimeout: Duration = .seconds(10)

        public init() {}
    }

    public var server = Server()
    public var database = Database()
    public var auth = Auth()
    public var workers = Workers()
    public var model = Model()
    public var fallback = Fallback()
    public var heal = Heal()
    public var confirmation = Confirmation()
    public var observability = Observability()
    public var selfTest = SelfTest()
    public var watchdog = Watchdog()

    public init() {}

    /// Whether AI routes answer degraded without trying when no model is configured.
    public var degradesPreemptively: Bool {
        self.fallback.preemptive || self.fallback.strictEnvironments.contains(self.server.environment)
    }
}
