import Foundation
import Logging
import Synchronization

/// The model client the rest of Arcanos uses: a deadline per call, retries, a breaker per model, the
/// ordered fallback chain (`AI_MODEL` → `FALLBACK_MODEL`) over one `LLMProvider`, and the process-wide
/// admission limit on calls in flight.
public final class ResilientLLMClient: Sendable {
    public typealias Breaker = CircuitBreakerStateMachine<ContinuousClock.Instant>

    public struct Configuration: Sendable, Hashable {
        /// The fallback chain, tried in order; duplicates are ignored.
        public var models: [String]
        /// Deadline of one `complete` call, retries and fallbacks included (`OPENAI_TIMEOUT_MS`).
        public var callTimeout: Duration
        public var retry: RetryPolicy
        public var breaker: Breaker.Configuration

        public init(
            models: [String],
            callTimeout: Duration = .seconds(15),
            retry: RetryPolicy = .init(),
            breaker: Breaker.Configuration = .init()
        ) {
            var seen = Set<String>()
            self.models = models.filter { !$0.isEmpty && seen.insert($0).inserted }
            self.callTimeout = callTimeout
            self.retry = retry
            self.breaker = breaker
        }
    }

    public enum Availability: Sendable, Hashable {
        case available
        case notConfigured
        /// Every model's breaker rejects calls; the shortest wait until one would probe.
        case circuitOpen(retryAfter: Duration)
    }

    private struct ModelState {
        var breaker: Breaker
        var calls = 0
        var successes = 0
        var failures = 0
        /// Calls that ended in local saturation (`overloaded`): neither calls nor failures of the model.
        var overloaded = 0
        var lastFailure: LLMFailure.Kind?
        var lastFailureAt: Date?
        var lastSuccessAt: Date?
        /// The replica whose opening this breaker adopted; nil once this replica's own calls or probe decide.
        var openedBy: String?
    }

    public let configuration: Configuration
    private let provider: (any LLMProvider)?
    let logger: Logger
    let metrics: ArcanosMetrics
    private let models: Mutex<[String: ModelState]>
    private let limiter: AdmissionLimiter?
    private let prober: ModelProber?
    private let shared: SharedBreakers?

    /// - Parameters:
    ///   - provider: nil when no model is configured (no API key): every call fails `not_configured`.
    ///   - limiter: the process-wide limit on calls in flight, shared by every client; nil for none.
    ///   - prober: probes this client's open breakers; the client registers itself with it.
    ///   - shared: the cluster's breakers: this client publishes its breakers' openings and closings there,
    ///     adopts the other replicas', and sends a half-open probe only under the model's probe lease.
    public init(
        provider: (any LLMProvider)?,
        configuration: Configuration,
        logger: Logger,
        metrics: ArcanosMetrics = .disabled,
        limiter: AdmissionLimiter? = nil,
        prober: ModelProber? = nil,
        shared: SharedBreakers? = nil
    ) {
        self.provider = provider
        self.configuration = configuration
        self.logger = logger
        self.metrics = metrics
        self.limiter = limiter
        self.prober = prober
        self.shared = shared
        self.models = Mutex(
            Dictionary(
                uniqueKeysWithValues: configuration.models.map {
                    ($0, ModelState(breaker: .init(configuration: configuration.breaker)))
                }
            )
        )
        // Every configured model has a breaker series from the start, so dashboards see "closed", not nothing.
        for model in configuration.models {
            metrics.recordBreakerState(model: model, phase: .closed)
        }
        prober?.register(self)
        shared?.register(self)
    }

    public var isConfigured: Bool { self.provider != nil && !self.configuration.models.isEmpty }

    /// The first model of the chain, the one answers normally come from.
    public var primaryModel: String { self.configuration.models.first ?? "" }

    /// Whether a call made now could reach any model, without changing any breaker.
    public func availability(now: ContinuousClock.Instant = .now) -> Availability {
        guard self.isConfigured else { return .notConfigured }
        return self.models.withLock { models in
            var shortest: Duration?
            for model in self.configuration.models {
                guard let wait = models[model]?.breaker.rejection(now: now) else { return .available }
                shortest = min(shortest ?? wait, wait)
            }
            return .circuitOpen(retryAfter: shortest ?? .zero)
        }
    }

    /// Completes `request` with the first model of the chain that answers in time.
    /// Throws `ArcanosError` (`.llmUnavailable` or `.circuitOpen`, the last `LLMFailure` as `underlying`)
    /// or `CancellationError` when the caller went away.
    public func complete(_ request: LLMRequest) async throws -> LLMCompletion {
        let (model, completion) = try await self.run(chain: self.configuration.models) { provider, model, deadline, _ in
            var modelRequest = request
            modelRequest.model = model
            return try await provider.complete(modelRequest, timeout: ContinuousClock.now.duration(to: deadline))
        }
        if let usage = completion.usage { self.metrics.recordTokens(model: model, usage: usage) }
        return completion
    }

    /// The models a call naming `model` walks: the chain from that model on; nil when it is not in the chain.
    public func chain(startingAt model: String) -> [String]? {
        guard let index = self.configuration.models.firstIndex(of: model) else { return nil }
        return Array(self.configuration.models[index...])
    }

    /// The one walk of the fallback chain, for every kind of call: per model the breaker's decision, then
    /// attempts (an admission slot each, within the call's deadline) retried by the retry policy; the
    /// outcome of each attempt recorded on the model's breaker. `call` gets the slot it runs under, which
    /// is given back when it returns or throws, unless it moves it elsewhere (`AdmissionPermit.handOver()`).
    func run<Value>(
        chain: [String],
        _ call: (
            _ provider: any LLMProvider, _ model: String, _ deadline: ContinuousClock.Instant,
            _ permit: AdmissionPermit
        ) async throws -> Value
    ) async throws -> (model: String, value: Value) {
        guard let provider, self.isConfigured else {
            throw ArcanosError(.llmUnavailable, "No model is configured", underlying: LLMFailure(.notConfigured))
        }
        let deadline = ContinuousClock.now + self.configuration.callTimeout
        var lastFailure: LLMFailure?
        var allRejected = true

        chain: for model in chain {
            var attempt = 0
            while true {
                try Task.checkCancellation()
                let now = ContinuousClock.now
                let remaining = now.duration(to: deadline)
                guard remaining > .zero else { break chain }
                let (decision, before, after) = self.models.withLock { models in
                    let before = models[model]!.breaker.phase
                    let decision = models[model]!.breaker.decide(now: now)
                    return (decision, before, models[model]!.breaker.phase)
                }
                if before != after { self.metrics.recordBreakerTransition(model: model, to: after) }
                var rejection: Duration?
                if case .reject(let retryAfter) = decision {
                    rejection = retryAfter
                } else if decision == .allowProbe, let wait = await self.probeElsewhere(model: model) {
                    rejection = wait
                }
                if let rejection {
                    let open = LLMFailure(.circuitOpen, retryAfter: rejection)
                    if lastFailure == nil || lastFailure?.kind == .circuitOpen { lastFailure = open }
                    continue chain
                }
                allRejected = false
                attempt += 1
                do {
                    let value = try await self.send(to: provider, model: model, deadline: deadline, call)
                    self.record(model: model, outcome: .success)
                    return (model, value)
                } catch let failure as LLMFailure {
                    self.record(model: model, outcome: .failure(failure))
                    if failure.kind == .overloaded {
                        // Local saturation: the next model would wait in the same queue, and nothing was
                        // learnt about this one.
                        throw ArcanosError(
                            .llmUnavailable,
                            "Too many model calls are in flight; retry shortly",
                            retryAfter: failure.retryAfter,
                            underlying: failure
                        )
                    }
                    self.logger.warning(
                        "model call failed",
                        metadata: [
                            "llm.model": "\(model)", "llm.failure": "\(failure.kind.rawValue)",
                            "llm.attempt": "\(attempt)",
                        ]
                    )
                    lastFailure = failure
                    let left = ContinuousClock.now.duration(to: deadline)
                    guard
                        let delay = self.configuration.retry.delay(
                            after: failure,
                            attempt: attempt,
                            remaining: left,
                            jitter: Double.random(in: 0...1)
                        )
                    else { continue chain }
                    // Throws CancellationError when the caller goes away: no attempt after that.
                    try await Task.sleep(for: delay)
                } catch {
                    self.record(model: model, outcome: .neutral)
                    throw error
                }
            }
        }
        let failure = lastFailure ?? LLMFailure(.timeout, detail: "deadline reached before any attempt")
        throw ArcanosError(
            allRejected ? .circuitOpen : .llmUnavailable,
            allRejected ? "The model is temporarily disabled after repeated failures" : "The model is unavailable",
            retryAfter: failure.retryAfter,
            underlying: failure
        )
    }

    /// One attempt: an admission slot (when there is a limiter), then `call`, within `deadline`.
    private func send<Value>(
        to provider: any LLMProvider,
        model: String,
        deadline: ContinuousClock.Instant,
        _ call: (any LLMProvider, String, ContinuousClock.Instant, AdmissionPermit) async throws -> Value
    ) async throws -> Value {
        let permit = try await self.limiter?.permit(until: deadline) ?? .unlimited
        defer { permit.release() }
        guard ContinuousClock.now < deadline else {
            throw LLMFailure(.overloaded, retryAfter: .seconds(1), detail: "deadline reached before the request left")
        }
        return try await call(provider, model, deadline, permit)
    }

    // MARK: Probes

    /// The cheapest real completion: one token. A probe tells whether the model answers, not what it says.
    public static let probeRequest = LLMRequest(messages: [.user("ping")], maxTokens: 1, temperature: 0)

    /// The earliest instant one of this client's models is due a probe; nil when none is (closed, or a probe
    /// is out).
    public func nextProbe(now: ContinuousClock.Instant = .now) -> ContinuousClock.Instant? {
        self.models.withLock { models in
            self.configuration.models.compactMap { models[$0]?.breaker.nextProbe(now: now) }.min()
        }
    }

    /// Sends the one probe of every model that is due one, concurrently, and records each outcome on its
    /// breaker like any call. A model whose probe a caller already took is skipped.
    public func probeDueModels() async {
        guard let provider else { return }
        let now = ContinuousClock.now
        var due: [String] = []
        var transitions: [(String, Breaker.Phase)] = []
        self.models.withLock { models in
            for model in self.configuration.models where models[model]?.breaker.probeDue(now: now) == true {
                let before = models[model]!.breaker.phase
                guard models[model]!.breaker.decide(now: now) == .allowProbe else { continue }
                due.append(model)
                let after = models[model]!.breaker.phase
                if before != after { transitions.append((model, after)) }
            }
        }
        for (model, phase) in transitions { self.metrics.recordBreakerTransition(model: model, to: phase) }
        await withDiscardingTaskGroup { group in
            for model in due {
                group.addTask {
                    guard await self.probeElsewhere(model: model) == nil else { return }
                    var request = Self.probeRequest
                    request.model = model
                    do {
                        // Not through the admission limit: one call per model, which user load must not
                        // shed, or the model's return would go unnoticed exactly when it matters.
                        _ = try await provider.complete(request, timeout: self.configuration.callTimeout)
                        self.record(model: model, outcome: .success)
                        self.logger.notice("model probe answered", metadata: ["llm.model": "\(model)"])
                    } catch let failure as LLMFailure {
                        self.record(model: model, outcome: .probeFailure(failure))
                        self.logger.info(
                            "model probe failed",
                            metadata: ["llm.model": "\(model)", "llm.failure": "\(failure.kind.rawValue)"]
                        )
                    } catch {
                        self.record(model: model, outcome: .neutral)
                    }
                }
            }
        }
    }

    // MARK: The cluster's breakers

    /// Called with a half-open probe in hand: nil when this replica may send it; otherwise the probe is another
    /// replica's, this breaker waits for its outcome (reopened for the probe lease, no failure counted), and the
    /// wait is returned.
    private func probeElsewhere(model: String) async -> Duration? {
        guard let shared, !(await shared.mayProbe(model: model)) else { return nil }
        let wait = shared.configuration.probeLease
        let until = ContinuousClock.now + wait
        let changed = self.models.withLock { models -> Bool in
            let before = models[model]?.breaker.phase
            models[model]?.breaker.deferProbe(until: until)
            return before != models[model]?.breaker.phase
        }
        if changed { self.metrics.recordBreakerTransition(model: model, to: .open) }
        self.prober?.wake()
        return wait
    }

    /// Another replica's breaker for one of this client's models opened or closed: this one follows.
    func adopt(_ state: SharedBreakerState) {
        let now = ContinuousClock.now
        let phases = self.models.withLock { models -> (Breaker.Phase, Breaker.Phase)? in
            guard var modelState = models[state.model] else { return nil }
            let before = modelState.breaker.phase
            if let openUntil = state.openUntil {
                let until = now.advanced(by: .seconds(openUntil.timeIntervalSinceNow))
                modelState.breaker.adoptOpen(until: until, failedProbes: state.failedProbes)
                if modelState.breaker.phase == .open { modelState.openedBy = state.replicaID }
            } else {
                modelState.breaker.adoptClosed()
                modelState.openedBy = nil
            }
            models[state.model] = modelState
            return (before, modelState.breaker.phase)
        }
        guard let (before, after) = phases, before != after else { return }
        let metadata: Logger.Metadata = ["llm.model": "\(state.model)", "cluster.replica": "\(state.replicaID)"]
        if after == .open {
            self.logger.warning("model circuit opened by another replica", metadata: metadata)
            self.prober?.wake()
        } else {
            self.logger.notice("model circuit closed by another replica", metadata: metadata)
        }
        self.metrics.recordBreakerTransition(model: state.model, to: after)
    }

    public func report(now: ContinuousClock.Instant = .now) -> LLMClientReport {
        self.models.withLock { models in
            LLMClientReport(
                configured: self.isConfigured,
                admission: self.limiter?.snapshot,
                models: self.configuration.models.map { model in
                    let state = models[model]!
                    return LLMClientReport.Model(
                        model: model,
                        breaker: state.breaker.phase,
                        breakerOpenings: state.breaker.openings,
                        breakerOpenedBy: state.breaker.phase == .closed ? nil : state.openedBy,
                        retryAfterSeconds: state.breaker.rejection(now: now).map { $0.seconds },
                        calls: state.calls,
                        successes: state.successes,
                        failures: state.failures,
                        overloaded: state.overloaded,
                        lastFailure: state.lastFailure,
                        lastFailureAt: state.lastFailureAt,
                        lastSuccessAt: state.lastSuccessAt
                    )
                }
            )
        }
    }

    enum Outcome {
        case success
        case failure(LLMFailure)
        /// A failed probe re-opens the breaker even when its kind does not count (overloaded): a probe slot
        /// handed straight back would be probed again at once, in a loop. A `rejected` probe closes it: the
        /// upstream answered, only not to this request (a model that wants other parameters).
        case probeFailure(LLMFailure)
        case neutral
    }

    func record(model: String, outcome: Outcome) {
        let now = ContinuousClock.now
        let (before, after, breaker) =
            self.models.withLock { models -> (Breaker.Phase, Breaker.Phase, Breaker)? in
                guard var state = models[model] else { return nil }
                let before = state.breaker.phase
                switch outcome {
                case .success:
                    state.calls += 1
                    state.successes += 1
                    state.lastSuccessAt = Date()
                    state.breaker.recordSuccess()
                case .failure(let failure) where failure.kind == .overloaded:
                    state.overloaded += 1
                    state.breaker.recordNeutral()
                case .failure(let failure), .probeFailure(let failure):
                    state.calls += 1
                    state.failures += 1
                    state.lastFailure = failure.kind
                    state.lastFailureAt = Date()
                    let probe: Bool
                    if case .probeFailure = outcome { probe = true } else { probe = false }
                    if probe, failure.kind == .rejected {
                        state.breaker.recordSuccess()
                    } else if probe || failure.kind.countsTowardBreaker {
                        state.breaker.recordFailure(now: now, jitter: Double.random(in: 0...1))
                    } else {
                        state.breaker.recordNeutral()
                    }
                case .neutral:
                    state.breaker.recordNeutral()
                }
                // This replica's own evidence: an opening or a closing is its own from here on.
                if before != state.breaker.phase, state.breaker.phase != .halfOpen { state.openedBy = nil }
                models[model] = state
                return (before, state.breaker.phase, state.breaker)
            } ?? (.closed, .closed, nil)
        // Transitions are rare and matter to operators; single calls are logged at their call site. This
        // replica's own ones are the cluster's news.
        if before != .open, after == .open, let breaker, case .open(let until) = breaker.state {
            self.logger.warning("model circuit opened", metadata: ["llm.model": "\(model)"])
            self.shared?.publish(
                model: model,
                openUntil: Date(timeIntervalSinceNow: now.duration(to: until).seconds),
                failedProbes: breaker.failedProbes
            )
        } else if before != .closed, after == .closed {
            self.logger.notice("model circuit closed", metadata: ["llm.model": "\(model)"])
            self.shared?.publish(model: model, openUntil: nil, failedProbes: 0)
        }
        // Opened, re-opened, or a probe slot freed: the prober's next probe time may have moved.
        if after != .closed { self.prober?.wake() }
        // Emitted after the lock: a metrics backend takes locks of its own.
        switch outcome {
        case .success: self.metrics.recordModelCall(model: model, outcome: "success")
        case .failure(let failure), .probeFailure(let failure):
            self.metrics.recordModelCall(model: model, outcome: failure.kind.rawValue)
        case .neutral: break
        }
        if before != after { self.metrics.recordBreakerTransition(model: model, to: after) }
    }
}
