import Foundation
import Metrics
import Synchronization

/// Every metric Arcanos emits, through one injected swift-metrics factory: the executable hands in the
/// Prometheus one, tests their own registry, and nothing depends on the global `MetricsSystem`.
///
/// Names follow Prometheus conventions (`arcanos_` prefix, snake_case, `_total`, `_seconds`) and every label
/// takes its values from a closed set or from configuration: never an id, a path with ids, or a prompt.
/// `catalog` lists them all; the exporter uses it for `# HELP` lines and the README lists it for people.
public struct ArcanosMetrics: Sendable {
    public enum Kind: String, Sendable, Hashable {
        case counter, gauge, histogram
    }

    /// One metric family: what it is and which labels its series carry.
    public struct Descriptor: Sendable, Hashable {
        public var name: String
        public var kind: Kind
        public var help: String
        public var labels: [String]
    }

    /// Metric family names.
    public enum Name {
        public static let httpRequests = "arcanos_http_requests_total"
        public static let httpRequestErrors = "arcanos_http_request_errors_total"
        public static let httpRequestDuration = "arcanos_http_request_duration_seconds"
        public static let breakerState = "arcanos_llm_breaker_state"
        public static let breakerTransitions = "arcanos_llm_breaker_transitions_total"
        public static let modelCalls = "arcanos_llm_calls_total"
        public static let modelCallsInFlight = "arcanos_llm_calls_in_flight"
        public static let modelCallsInFlightLimit = "arcanos_llm_calls_in_flight_limit"
        public static let modelCallsShed = "arcanos_llm_shed_total"
        public static let modelTokens = "arcanos_llm_tokens_total"
        public static let timeToFirstToken = "arcanos_llm_time_to_first_token_seconds"
        public static let degradedAnswers = "arcanos_degraded_answers_total"
        public static let workerRestarts = "arcanos_worker_restarts_total"
        public static let workerHangs = "arcanos_worker_hangs_total"
        public static let workerRestartStorms = "arcanos_worker_restart_storms_total"
        public static let workersActive = "arcanos_workers_active"
        public static let queueDepth = "arcanos_queue_depth"
        public static let queueOldestAge = "arcanos_queue_oldest_age_seconds"
        public static let jobs = "arcanos_jobs_total"
        public static let heals = "arcanos_heals_total"
        public static let planFieldsDropped = "arcanos_heal_plan_fields_dropped_total"
        public static let selfTestRuns = "arcanos_self_test_runs_total"
        public static let selfTestLastRun = "arcanos_self_test_last_run_timestamp_seconds"
        public static let selfTestLastSuccess = "arcanos_self_test_last_success"
        public static let queueInFlight = "arcanos_queue_in_flight"
        public static let watchdogEscalations = "arcanos_watchdog_escalations_total"
    }

    public static let catalog: [Descriptor] = [
        .init(
            name: Name.httpRequests,
            kind: .counter,
            help: "HTTP requests by method, matched route pattern and status class.",
            labels: ["method", "route", "status_class"]
        ),
        .init(
            name: Name.httpRequestErrors,
            kind: .counter,
            help: "HTTP requests answered with a 4xx or 5xx status.",
            labels: ["method", "route", "status_class"]
        ),
        .init(
            name: Name.httpRequestDuration,
            kind: .histogram,
            help: "Time from receiving a request to its response, by method and matched route pattern.",
            labels: ["method", "route"]
        ),
        .init(
            name: Name.breakerState,
            kind: .gauge,
            help: "Circuit breaker state per configured model: 0 closed, 1 half-open, 2 open.",
            labels: ["model"]
        ),
        .init(
            name: Name.breakerTransitions,
            kind: .counter,
            help: "Circuit breaker state changes per configured model, by the state entered.",
            labels: ["model", "to"]
        ),
        .init(
            name: Name.modelCalls,
            kind: .counter,
            help: "Model call attempts per configured model, by outcome (success or the failure kind).",
            labels: ["model", "outcome"]
        ),
        .init(
            name: Name.modelCallsInFlight,
            kind: .gauge,
            help: "Model calls holding an admission slot (OPENAI_MAX_IN_FLIGHT), all models together.",
            labels: []
        ),
        .init(
            name: Name.modelCallsInFlightLimit,
            kind: .gauge,
            help: "The admission limit on model calls in flight (OPENAI_MAX_IN_FLIGHT).",
            labels: []
        ),
        .init(
            name: Name.modelCallsShed,
            kind: .counter,
            help: "Model calls turned away by the admission limit without being sent (answered overloaded).",
            labels: []
        ),
        .init(
            name: Name.modelTokens,
            kind: .counter,
            help: "Tokens of model answers per configured model, by kind (prompt or completion), as reported.",
            labels: ["model", "kind"]
        ),
        .init(
            name: Name.timeToFirstToken,
            kind: .histogram,
            help: "Time from a streamed call's start to its first token, per configured model.",
            labels: ["model"]
        ),
        .init(
            name: Name.degradedAnswers,
            kind: .counter,
            help: "Degraded answers served on AI routes, by fallback mode and reason.",
            labels: ["fallback_mode", "reason"]
        ),
        .init(
            name: Name.workerRestarts,
            kind: .counter,
            help: "Workers replaced by the supervisor after a crash or a hang.",
            labels: []
        ),
        .init(
            name: Name.workerHangs,
            kind: .counter,
            help: "Workers cancelled for missing their task deadline or heartbeats.",
            labels: []
        ),
        .init(
            name: Name.workerRestartStorms,
            kind: .counter,
            help: "Restart storms that marked the worker pool unsafe.",
            labels: []
        ),
        .init(
            name: Name.workersActive,
            kind: .gauge,
            help: "Workers currently consuming the queue.",
            labels: []
        ),
        .init(
            name: Name.queueDepth,
            kind: .gauge,
            help: "Jobs waiting in the queue.",
            labels: []
        ),
        .init(
            name: Name.queueOldestAge,
            kind: .gauge,
            help: "Age of the oldest waiting job (0 when the queue is empty).",
            labels: []
        ),
        .init(
            name: Name.queueInFlight,
            kind: .gauge,
            help: "Jobs running under a current lease.",
            labels: []
        ),
        .init(
            name: Name.watchdogEscalations,
            kind: .counter,
            help: "Times the heal watchdog stopped healing and escalated to a person.",
            labels: []
        ),
        .init(
            name: Name.jobs,
            kind: .counter,
            help: "Finished job attempts by outcome.",
            labels: ["outcome"]
        ),
        .init(
            name: Name.heals,
            kind: .counter,
            help: "Heal requests by source (who asked) and outcome.",
            labels: ["source", "outcome"]
        ),
        .init(
            name: Name.planFieldsDropped,
            kind: .counter,
            help: "Fields outside the schema dropped from model recovery plans that were otherwise valid.",
            labels: []
        ),
        .init(
            name: Name.selfTestRuns,
            kind: .counter,
            help: "Self-test runs by result.",
            labels: ["status"]
        ),
        .init(
            name: Name.selfTestLastRun,
            kind: .gauge,
            help: "Unix time of the latest self-test run.",
            labels: []
        ),
        .init(
            name: Name.selfTestLastSuccess,
            kind: .gauge,
            help: "1 when the latest self-test passed, 0 when it failed.",
            labels: []
        ),
    ]

    /// Metrics that go nowhere: the default of components built without a registry.
    public static let disabled = ArcanosMetrics(factory: NOOPMetricsHandler.instance)

    public let factory: any MetricsFactory
    /// `model` label values: a model id that is a credential is recorded under its alias, whichever
    /// metric carries it, because `/metrics` may be public.
    public let modelNames: PublicModelNames
    /// The server's own samples for `GET /metrics/history`: requests and degraded answers are counted into
    /// it here, where they are counted for Prometheus.
    public let history: MetricsHistoryRecorder?
    private let handles: Handles

    public init(
        factory: any MetricsFactory,
        modelNames: PublicModelNames = .init(),
        history: MetricsHistoryRecorder? = nil
    ) {
        self.factory = factory
        self.modelNames = modelNames
        self.history = history
        self.handles = Handles()
    }

    // MARK: HTTP

    /// One answered request. `route` is the matched route pattern (`/jobs/:id`), never the raw path.
    public func recordRequest(method: String, route: String, status: Int, duration: Duration) {
        let method = Self.boundedMethod(method)
        let statusClass = "\(min(max(status / 100, 1), 5))xx"
        let labels = [("method", method), ("route", route), ("status_class", statusClass)]
        self.counter(Name.httpRequests, labels).increment()
        if status >= 400 {
            self.counter(Name.httpRequestErrors, labels).increment()
        }
        self.timer(Name.httpRequestDuration, [("method", method), ("route", route)])
            .recordNanoseconds(max(0, duration.nanoseconds))
        self.history?.recordRequest(duration: duration)
    }

    /// Methods outside the standard set share one label value, so a client cannot mint series.
    static func boundedMethod(_ method: String) -> String {
        let known: Set<String> = ["GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS"]
        return known.contains(method) ? method : "OTHER"
    }

    // MARK: Model client

    public func recordBreakerState(model: String, phase: CircuitBreakerStateMachine<ContinuousClock.Instant>.Phase) {
        let value: Double =
            switch phase {
            case .closed: 0
            case .halfOpen: 1
            case .open: 2
            }
        self.gauge(Name.breakerState, [("model", model)]).record(value)
    }

    public func recordBreakerTransition(
        model: String,
        to phase: CircuitBreakerStateMachine<ContinuousClock.Instant>.Phase
    ) {
        self.counter(Name.breakerTransitions, [("model", model), ("to", phase.rawValue)]).increment()
        self.recordBreakerState(model: model, phase: phase)
    }

    /// `outcome` is `success` or an `LLMFailure.Kind` raw value.
    public func recordModelCall(model: String, outcome: String) {
        self.counter(Name.modelCalls, [("model", model), ("outcome", outcome)]).increment()
    }

    public func recordTokens(model: String, usage: LLMUsage) {
        self.counter(Name.modelTokens, [("model", model), ("kind", "prompt")]).increment(by: usage.promptTokens)
        self.counter(Name.modelTokens, [("model", model), ("kind", "completion")])
            .increment(by: usage.completionTokens)
    }

    public func recordTimeToFirstToken(model: String, _ duration: Duration) {
        self.timer(Name.timeToFirstToken, [("model", model)]).recordNanoseconds(max(0, duration.nanoseconds))
    }

    public func recordModelCallsInFlight(_ inFlight: Int, limit: Int) {
        self.gauge(Name.modelCallsInFlight, []).record(Double(inFlight))
        self.gauge(Name.modelCallsInFlightLimit, []).record(Double(limit))
    }

    public func recordModelCallShed() {
        self.counter(Name.modelCallsShed, []).increment()
    }

    // MARK: Degraded mode

    /// `reason` is an `LLMFailure.Kind` raw value.
    public func recordDegradedAnswer(mode: FallbackMode, reason: String) {
        self.counter(Name.degradedAnswers, [("fallback_mode", mode.rawValue), ("reason", reason)]).increment()
        self.history?.recordDegradedAnswer()
    }

    // MARK: Workers, queue, jobs

    public func recordWorkerRestart() { self.counter(Name.workerRestarts, []).increment() }
    public func recordWorkerHang() { self.counter(Name.workerHangs, []).increment() }
    public func recordWorkerRestartStorm() { self.counter(Name.workerRestartStorms, []).increment() }

    /// `outcome`: a `WorkerPoolEvent.JobOutcome` (`succeeded`, `retrying`, `failed`, `released`, `fenced`,
    /// `deferred`).
    public func recordJob(outcome: String) {
        self.counter(Name.jobs, [("outcome", outcome)]).increment()
    }

    /// The pool's events that metrics count: finished job attempts by outcome. Restarts, hangs and storms
    /// come from the supervisor's own counts at scrape time (`Sample`), so they are never counted twice.
    public func record(_ event: WorkerPoolEvent) {
        if case .jobFinished(_, _, let outcome) = event {
            self.recordJob(outcome: outcome.rawValue)
        }
    }

    // MARK: Heals and self-test

    /// `source`: who asked (`operator`, `automation`, `watchdog`); `outcome`: a `HealAuditRecord.Outcome`.
    public func recordHeal(source: String, outcome: String) {
        self.counter(Name.heals, [("source", source), ("outcome", outcome)]).increment()
    }

    public func recordPlanFieldsDropped(_ count: Int) {
        self.counter(Name.planFieldsDropped, []).increment(by: count)
    }

    public func recordSelfTest(passed: Bool, at date: Date) {
        self.counter(Name.selfTestRuns, [("status", passed ? "pass" : "fail")]).increment()
        self.gauge(Name.selfTestLastRun, []).record(date.timeIntervalSince1970)
        self.gauge(Name.selfTestLastSuccess, []).record(passed ? 1 : 0)
    }

    // MARK: Sampled values

    /// The state read from the pool, the queue and the self-test when `/metrics` is scraped.
    public struct Sample: Sendable, Hashable {
        public var activeWorkers: Int?
        public var queueDepth: Int?
        public var queueOldestAgeSeconds: Double?
        public var queueInFlight: Int?
        /// Cumulative counts kept by the supervisor; the counters advance by the difference since the last sample.
        public var workerRestarts: Int?
        public var workerHangs: Int?
        public var workerRestartStorms: Int?
        /// Cumulative finished jobs by outcome, kept by the job store or pool.
        public var jobsByOutcome: [String: Int]?
        public var selfTestLastRun: Date?
        public var selfTestPassed: Bool?

        public init() {}
    }

    /// Applies a scrape-time sample: gauges take the values; counters advance to the reported totals.
    public func apply(_ sample: Sample) {
        if let activeWorkers = sample.activeWorkers {
            self.gauge(Name.workersActive, []).record(Double(activeWorkers))
        }
        if let depth = sample.queueDepth {
            self.gauge(Name.queueDepth, []).record(Double(depth))
            self.gauge(Name.queueOldestAge, []).record(sample.queueOldestAgeSeconds ?? 0)
        }
        if let inFlight = sample.queueInFlight {
            self.gauge(Name.queueInFlight, []).record(Double(inFlight))
        }
        if let total = sample.workerRestarts { self.advance(Name.workerRestarts, [], to: total) }
        if let total = sample.workerHangs { self.advance(Name.workerHangs, [], to: total) }
        if let total = sample.workerRestartStorms { self.advance(Name.workerRestartStorms, [], to: total) }
        for (outcome, total) in (sample.jobsByOutcome ?? [:]).sorted(by: { $0.key < $1.key }) {
            self.advance(Name.jobs, [("outcome", outcome)], to: total)
        }
        if let lastRun = sample.selfTestLastRun {
            self.gauge(Name.selfTestLastRun, []).record(lastRun.timeIntervalSince1970)
        }
        if let passed = sample.selfTestPassed {
            self.gauge(Name.selfTestLastSuccess, []).record(passed ? 1 : 0)
        }
    }

    /// Advances a counter to `total` when the source keeps a cumulative count of its own. A total lower than
    /// the last one seen (the source restarted) becomes the new baseline and is added in full.
    public func advance(_ name: String, _ labels: [(String, String)], to total: Int) {
        let key = Handles.Key(name: name, labels: labels)
        let delta = self.handles.lastTotals.withLock { totals -> Int in
            let previous = totals[key] ?? 0
            totals[key] = total
            return total >= previous ? total - previous : total
        }
        // Created even at zero: a series that exists from the start reads better than one that appears later.
        let counter = self.counter(name, labels)
        if delta > 0 { counter.increment(by: delta) }
    }

    // MARK: Handles

    /// Creates the handle once per series: the registry lookup takes a lock and allocates.
    public func counter(_ name: String, _ labels: [(String, String)]) -> Counter {
        let key = Handles.Key(name: name, labels: labels)
        return self.handles.counters.withLock { counters in
            if let counter = counters[key] { return counter }
            let counter = Counter(label: name, dimensions: self.publicLabels(labels), factory: self.factory)
            counters[key] = counter
            return counter
        }
    }

    public func gauge(_ name: String, _ labels: [(String, String)]) -> Gauge {
        let key = Handles.Key(name: name, labels: labels)
        return self.handles.gauges.withLock { gauges in
            if let gauge = gauges[key] { return gauge }
            let gauge = Gauge(label: name, dimensions: self.publicLabels(labels), factory: self.factory)
            gauges[key] = gauge
            return gauge
        }
    }

    public func timer(_ name: String, _ labels: [(String, String)]) -> Metrics.Timer {
        let key = Handles.Key(name: name, labels: labels)
        return self.handles.timers.withLock { timers in
            if let timer = timers[key] { return timer }
            let timer = Metrics.Timer(label: name, dimensions: self.publicLabels(labels), factory: self.factory)
            timers[key] = timer
            return timer
        }
    }

    /// Applied once per series, when its handle is made: the aliases are one-to-one, so the raw labels key the
    /// cache and a request does not remap them.
    private func publicLabels(_ labels: [(String, String)]) -> [(String, String)] {
        labels.map { $0.0 == "model" ? ($0.0, self.modelNames.name(for: $0.1)) : $0 }
    }

    private final class Handles: Sendable {
        struct Key: Hashable {
            var name: String
            var labels: [String]

            init(name: String, labels: [(String, String)]) {
                self.name = name
                self.labels = labels.flatMap { [$0.0, $0.1] }
            }
        }

        let counters = Mutex<[Key: Counter]>([:])
        let gauges = Mutex<[Key: Gauge]>([:])
        let timers = Mutex<[Key: Metrics.Timer]>([:])
        let lastTotals = Mutex<[Key: Int]>([:])
    }
}
