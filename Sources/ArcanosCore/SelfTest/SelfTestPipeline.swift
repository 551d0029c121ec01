import Foundation
import Logging

/// The self-test: sends the readiness prompts to this server's own `/ask` over HTTP, judges the answers,
/// appends them to `logs/healthcheck.json` and mirrors the summary into `systemState.json` as `selfTest`.
/// Single-flight: a run requested while one is in flight joins it and gets the same summary.
///
/// The target is `SELF_TEST_BASE_URL` when set, else the address the server bound (told through
/// `serverRunning(host:port:)`); it never comes from a request.
public actor SelfTestPipeline {
    public struct Configuration: Sendable, Hashable {
        /// `SELF_TEST_INTERVAL_MS`; nil when the periodic run is off (`0`). Staleness is judged against it.
        public var interval: Duration?
        /// `SELF_TEST_PROMPTS`, sent in order.
        public var prompts: [SelfTestPrompt]
        /// Deadline of one prompt, connection to last byte (`SELF_TEST_TIMEOUT_MS`).
        public var promptTimeout: Duration
        /// An answer body larger than this fails the prompt.
        public var maximumResponseBytes: Int
        /// `SELF_TEST_BASE_URL`: where `/ask` is reached, when not at the bound address.
        public var baseURL: String?
        /// The primary model, reported as `targetModel`.
        public var targetModel: String
        /// The operator key sent as `Authorization: Bearer` when `ARCANOS_API_KEYS` is set.
        public var apiKey: String?

        public init(
            interval: Duration? = .milliseconds(300_000),
            prompts: [SelfTestPrompt] = SelfTestPrompt.defaults,
            promptTimeout: Duration = .seconds(30),
            maximumResponseBytes: Int = 256 * 1024,
            baseURL: String? = nil,
            targetModel: String = "",
            apiKey: String? = nil
        ) {
            self.interval = interval
            self.prompts = prompts
            self.promptTimeout = promptTimeout
            self.maximumResponseBytes = maximumResponseBytes
            self.baseURL = baseURL
            self.targetModel = targetModel
            self.apiKey = apiKey
        }
    }

    public let configuration: Configuration
    private let transport: any SelfTestTransport
    private let healthLog: HealthCheckLog?
    private let record: SharedRecord?
    private let logger: Logger
    private let metrics: ArcanosMetrics
    private let now: @Sendable () -> Date
    private let createdAt: Date

    private var boundBaseURL: String?
    private var inFlight: Task<SelfTestSummary, Never>?
    private var lastSummary: SelfTestSummary?
    private var subscribers: [UUID: AsyncStream<SelfTestSummary>.Continuation] = [:]

    /// - Parameters:
    ///   - healthLog: where results are appended; nil records nothing there.
    ///   - record: where the summary is kept as `selfTest` (shared, mirrored in systemState.json); nil keeps nothing.
    public init(
        configuration: Configuration,
        transport: any SelfTestTransport,
        healthLog: HealthCheckLog?,
        record: SharedRecord?,
        logger: Logger,
        metrics: ArcanosMetrics = .disabled,
        now: @escaping @Sendable () -> Date = { Date() }
    ) {
        precondition(!configuration.prompts.isEmpty, "a self-test needs at least one prompt")
        self.metrics = metrics
        self.configuration = configuration
        self.transport = transport
        self.healthLog = healthLog
        self.record = record
        self.logger = logger
        self.now = now
        self.createdAt = now()
    }

    // MARK: - Target

    /// Tells the pipeline where the server listens. A wildcard address is probed on loopback.
    public func serverRunning(host: String, port: Int) {
        self.boundBaseURL = Self.loopbackBaseURL(host: host, port: port)
    }

    /// Where the prompts go: `SELF_TEST_BASE_URL`, else the bound address; nil before the server listens.
    public var baseURL: String? {
        self.configuration.baseURL.map(Self.trimmingTrailingSlashes) ?? self.boundBaseURL
    }

    public static func loopbackBaseURL(host: String, port: Int) -> String {
        let address: String
        switch host {
        case "0.0.0.0", "": address = "127.0.0.1"
        case "::", "[::]": address = "[::1]"
        default: address = host.contains(":") && !host.hasPrefix("[") ? "[\(host)]" : host
        }
        return "http://\(address):\(port)"
    }

    static func trimmingTrailingSlashes(_ url: String) -> String {
        var url = url
        while url.hasSuffix("/") { url.removeLast() }
        return url
    }

    // MARK: - Running

    /// Runs the self-test now, or joins the run in flight. Throws `not_ready` before the target is known.
    public func run(triggeredBy trigger: SelfTestSummary.Trigger) async throws -> SelfTestSummary {
        if let inFlight = self.inFlight {
            self.joinedCallers += 1
            return await inFlight.value
        }
        guard let baseURL = self.baseURL else {
            throw ArcanosError(.notReady, "The self-test target is not known yet; retry once the server listens")
        }
        // Unstructured on purpose: callers that join must not lose the run when the caller that started it
        // goes away (a client hanging up on POST /devops/self-test).
        let task = Task { await self.perform(trigger: trigger, baseURL: baseURL) }
        self.inFlight = task
        return await task.value
    }

    /// Stops a run in flight (at shutdown); its results are not recorded.
    public func cancelInFlight() {
        self.inFlight?.cancel()
    }

    public var isRunning: Bool { self.inFlight != nil }
    /// Calls that joined a run already in flight instead of starting one, since start.
    public private(set) var joinedCallers = 0

    private func perform(trigger: SelfTestSummary.Trigger, baseURL: String) async -> SelfTestSummary {
        let startedAt = self.now()
        var results: [SelfTestResult] = []
        for prompt in self.configuration.prompts {
            results.append(await self.probe(prompt, baseURL: baseURL))
        }
        let summary = SelfTestSummary(
            triggeredBy: trigger,
            baseUrl: baseURL,
            targetModel: self.configuration.targetModel,
            lastRun: startedAt,
            completedAt: self.now(),
            results: results
        )
        if Task.isCancelled {
            self.logger.info("self-test cancelled; results not recorded")
        } else {
            await self.record(summary)
        }
        self.lastSummary = summary
        self.inFlight = nil
        for continuation in self.subscribers.values {
            continuation.yield(summary)
        }
        return summary
    }

    private func record(_ summary: SelfTestSummary) async {
        self.metrics.recordSelfTest(passed: summary.status == .pass, at: summary.lastRun)
        let metadata: Logger.Metadata = [
            "self_test.status": "\(summary.status.rawValue)",
            "self_test.pass": "\(summary.passCount)",
            "self_test.fail": "\(summary.failCount)",
            "self_test.trigger": "\(summary.triggeredBy.rawValue)",
        ]
        if summary.status == .pass {
            self.logger.info("self-test passed", metadata: metadata)
        } else {
            var metadata = metadata
            metadata["self_test.failures"] =
                "\(summary.results.filter { !$0.success }.map { "\($0.id): \($0.message)" })"
            self.logger.warning("self-test failed", metadata: metadata)
        }
        do {
            try self.healthLog?.append(summary.results, now: summary.completedAt)
        } catch {
            self.logger.error("health check log not written", metadata: ["error": "\(error)"])
        }
        guard let record = self.record else { return }
        do {
            // Awaited, so that a summary handed to callers is already in the state file. `inFlight` is still
            // set during this await: no other run can start and interleave its writes.
            try await record.set(try summary.jsonValue(), for: .selfTest, now: summary.completedAt)
        } catch {
            self.logger.error("self-test summary not written to the shared record", metadata: ["error": "\(error)"])
        }
    }

    private func probe(_ prompt: SelfTestPrompt, baseURL: String) async -> SelfTestResult {
        let start = ContinuousClock.now
        var headers = ["accept": "application/json", "user-agent": "arcanos-self-test"]
        if let apiKey = self.configuration.apiKey {
            headers["authorization"] = "Bearer \(apiKey)"
        }
        let body: [String: JSONValue] = [
            "prompt": .string(prompt.prompt),
            "sessionId": "arcanos-self-test",
            "metadata": ["selfTest": true, "promptId": .string(prompt.id)],
        ]
        let request = SelfTestHTTPRequest(
            url: baseURL + "/ask",
            headers: headers,
            body: (try? JSONEncoder().encode(JSONValue.object(body))) ?? Data(),
            timeout: self.configuration.promptTimeout,
            maximumResponseBytes: self.configuration.maximumResponseBytes
        )
        let verdict: Verdict
        do {
            let response = try await self.transport.post(request)
            verdict = Self.judge(response, maximumResponseBytes: self.configuration.maximumResponseBytes)
        } catch let error as SelfTestTransportError {
            verdict = Verdict(statusCode: nil, success: false, message: error.description, activeModel: nil)
        } catch is CancellationError {
            verdict = Verdict(statusCode: nil, success: false, message: "cancelled", activeModel: nil)
        } catch {
            verdict = Verdict(statusCode: nil, success: false, message: "request failed", activeModel: nil)
        }
        let latency = start.duration(to: .now)
        return SelfTestResult(
            id: prompt.id,
            prompt: prompt.prompt,
            expectation: prompt.expectation,
            statusCode: verdict.statusCode,
            latencyMs: latency.milliseconds,
            success: verdict.success,
            message: verdict.message,
            activeModel: verdict.activeModel,
            timestamp: self.now()
        )
    }

    struct Verdict: Sendable, Hashable {
        var statusCode: Int?
        var success: Bool
        var message: String
        var activeModel: String?
    }

    /// Pass: HTTP 200 with a live, non-empty model answer. Degraded answers, other statuses (redirects
    /// included) and unreadable bodies fail. The message never carries answer text.
    static func judge(_ response: SelfTestHTTPResponse, maximumResponseBytes: Int) -> Verdict {
        let status = response.statusCode
        func fail(_ message: String) -> Verdict {
            Verdict(statusCode: status, success: false, message: message, activeModel: nil)
        }
        guard response.body.count <= maximumResponseBytes else {
            return fail(SelfTestTransportError.responseTooLarge(limit: maximumResponseBytes).description)
        }
        let body = try? JSONDecoder().decode(JSONValue.self, from: response.body)
        let degradedReason = response.headers["x-arcanos-degraded-reason"] ?? body?["reason"]?.stringValue
        if body?["status"]?.stringValue == "degraded" || response.headers["x-arcanos-degraded-reason"] != nil {
            return fail("degraded answer (reason: \(Self.safeToken(degradedReason)))")
        }
        guard status == 200 else {
            if let code = body?["error"]?.stringValue {
                return fail("HTTP \(status) (\(Self.safeToken(code)))")
            }
            return fail("HTTP \(status)")
        }
        guard let result = body?["result"]?.stringValue,
            !result.isBlank
        else { return fail("HTTP 200 without a model answer") }
        let model = body?["activeModel"]?.stringValue.map { String($0.prefix(200)) }
        return Verdict(statusCode: status, success: true, message: "ok", activeModel: model)
    }

    /// A short code from the answer (a degraded reason, an error code), kept only if it looks like one.
    static func safeToken(_ text: String?) -> String {
        guard let text, (1...64).contains(text.count),
            text.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "_" || $0 == "-") })
        else { return "unknown" }
        return text
    }

    // MARK: - Observing

    /// Every summary from now on, as runs complete (tests and tools wait on this instead of polling).
    public func completions() -> AsyncStream<SelfTestSummary> {
        let (stream, continuation) = AsyncStream.makeStream(
            of: SelfTestSummary.self,
            bufferingPolicy: .bufferingNewest(16)
        )
        let id = UUID()
        self.subscribers[id] = continuation
        continuation.onTermination = { _ in
            Task { await self.unsubscribe(id) }
        }
        return stream
    }

    private func unsubscribe(_ id: UUID) {
        self.subscribers[id] = nil
    }

    /// The latest summary since start, if any.
    public var latest: SelfTestSummary? { self.lastSummary }

    /// What the auto-heal heuristic reads: whether the latest run failed and whether the self-test is stale.
    public func signals(now: Date? = nil) -> SelfTestSignals {
        let now = now ?? self.now()
        return SelfTestSignals(
            failed: self.lastSummary.map { $0.status == .fail },
            stale: SelfTestSignals.isStale(
                lastCompleted: self.lastSummary?.completedAt,
                since: self.createdAt,
                interval: self.configuration.interval,
                now: now
            )
        )
    }

    /// The `selfTest` block of the status payload: no prompts, no results, only the verdict and its age.
    public func report(now: Date? = nil) -> SelfTestReport {
        let signals = self.signals(now: now)
        return SelfTestReport(
            enabled: self.configuration.interval != nil,
            intervalMs: self.configuration.interval?.milliseconds,
            running: self.inFlight != nil,
            stale: signals.stale ?? false,
            status: self.lastSummary?.status,
            lastRun: self.lastSummary?.lastRun,
            completedAt: self.lastSummary?.completedAt,
            triggeredBy: self.lastSummary?.triggeredBy,
            passCount: self.lastSummary?.passCount,
            failCount: self.lastSummary?.failCount
        )
    }
}
