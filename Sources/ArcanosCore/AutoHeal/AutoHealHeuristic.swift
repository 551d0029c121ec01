import Foundation

/// The deterministic half of auto-heal: health signals in, severity, action and concrete steps out.
/// A pure function, so every combination of signals is a table row in the tests.
public struct AutoHealHeuristic: Sendable, Hashable {
    public struct Configuration: Sendable, Hashable {
        /// A queue whose oldest task waited longer than this is a warning.
        public var queueAgeWarning: Duration

        public init(queueAgeWarning: Duration = .seconds(60)) {
            self.queueAgeWarning = queueAgeWarning
        }
    }

    /// One thing the heuristic noticed.
    public struct Finding: Sendable, Hashable, Codable {
        public enum Code: String, Sendable, Hashable, Codable, CaseIterable {
            case stormGuard = "storm_guard"
            case poolDown = "pool_down"
            case deadWorkers = "dead_workers"
            case hungWorkers = "hung_workers"
            case failingModules = "failing_modules"
            case queueBacklog = "queue_backlog"
            case breakerOpen = "breaker_open"
            case modelNotConfigured = "model_not_configured"
            case degradedAnswers = "degraded_answers"
            case errorRateRising = "error_rate_rising"
            case selfTestFailed = "self_test_failed"
            case selfTestStale = "self_test_stale"
            case replicaPoolDown = "replica_pool_down"
            case replicaDead = "replica_dead"
        }

        public var code: Code
        public var severity: HealSeverity
        /// Short, safe text: ids and counts, never paths or prompt text.
        public var detail: String
    }

    /// The heuristic's verdict.
    public struct Assessment: Sendable, Hashable, Codable {
        public var severity: HealSeverity
        public var recommendedAction: RecoveryAction
        public var message: String
        public var steps: [String]
        public var fallbackModel: String?
        public var findings: [Finding]
    }

    /// Bounds every plan obeys, whoever wrote it.
    public static let maximumSteps = 10
    public static let maximumStepLength = 300
    public static let maximumMessageLength = 500

    public var configuration: Configuration

    public init(configuration: Configuration = .init()) {
        self.configuration = configuration
    }

    public func assess(_ signals: HealthSignals) -> Assessment {
        let findings = self.findings(signals)
        let severity = findings.map(\.severity).max() ?? .ok
        let codes = Set(findings.map(\.code))
        let usableFallback = signals.models.dropFirst().first { !signals.openBreakers.contains($0) }

        let action: RecoveryAction
        var fallbackModel: String?
        if codes.contains(.poolDown) || codes.contains(.deadWorkers) || codes.contains(.hungWorkers)
            || codes.contains(.stormGuard) || codes.contains(.replicaPoolDown)
        {
            // An unsafe pool too: a heal restarts it on probation, the storm guard still armed. Another
            // replica's pool too: in a cluster a heal restarts every replica's pool.
            action = .restartWorkers
        } else if codes.contains(.failingModules) {
            // A broken definition file stays broken across restarts.
            action = .escalate
        } else if codes.contains(.queueBacklog) && signals.poolEnabled {
            action = .restartWorkers
        } else if codes.contains(.modelNotConfigured) {
            action = .escalate
        } else if codes.contains(.breakerOpen) || codes.contains(.degradedAnswers) {
            if let usableFallback {
                action = .fallbackModel
                fallbackModel = usableFallback
            } else if codes.contains(.breakerOpen) {
                // Every configured model is failing and there is nothing to fall back to.
                action = .escalate
            } else {
                action = .monitor
            }
        } else {
            action = .monitor
        }

        return Assessment(
            severity: severity,
            recommendedAction: action,
            message: Self.message(severity: severity, action: action, findings: findings),
            steps: Self.bounded(self.steps(for: codes, action: action, signals: signals, fallbackModel: fallbackModel)),
            fallbackModel: fallbackModel,
            findings: findings
        )
    }

    func findings(_ signals: HealthSignals) -> [Finding] {
        var findings: [Finding] = []
        func add(_ code: Finding.Code, _ severity: HealSeverity, _ detail: String) {
            findings.append(Finding(code: code, severity: severity, detail: detail))
        }
        if signals.poolEnabled {
            if signals.stormGuardTripped {
                add(
                    .stormGuard,
                    .critical,
                    "restart storm: the supervisor stopped replacing workers until its probe restart"
                )
            }
            if signals.poolDown {
                add(
                    .poolDown,
                    .critical,
                    signals.poolStarted
                        ? "no worker is consuming the queue (0 of \(signals.configuredWorkers) active)"
                        : "the worker pool is not started"
                )
            } else if !signals.deadWorkers.isEmpty {
                add(
                    .deadWorkers,
                    .critical,
                    "\(signals.deadWorkers.count) of \(signals.configuredWorkers) workers are not running"
                )
            }
            if !signals.hungWorkers.isEmpty {
                add(
                    .hungWorkers,
                    .critical,
                    "\(signals.hungWorkers.count) worker(s) hung: \(Self.list(signals.hungWorkers))"
                )
            }
        }
        if !signals.failingModules.isEmpty {
            add(
                .failingModules,
                .critical,
                "\(signals.failingModules.count) module(s) fail to load: \(Self.list(signals.failingModules.map(\.id)))"
            )
        }
        if let pools = signals.replicaPoolsDown, !pools.isEmpty {
            add(.replicaPoolDown, .critical, "the worker pool of replica(s) \(Self.list(pools)) is down")
        }
        if let dead = signals.deadReplicas, !dead.isEmpty {
            add(.replicaDead, .warning, "replica(s) \(Self.list(dead)) stopped heartbeating")
        }
        if let age = signals.queueOldestAgeSeconds, age > self.configuration.queueAgeWarning.seconds {
            add(.queueBacklog, .warning, "the oldest queued task has waited \(Int(age)) s")
        }
        if !signals.modelConfigured {
            add(.modelNotConfigured, .warning, "no model is configured: AI routes answer in degraded mode")
        } else if !signals.openBreakers.isEmpty {
            add(.breakerOpen, .warning, "circuit breaker open for \(Self.list(signals.openBreakers))")
        }
        if signals.modelConfigured, signals.degradedSince != nil {
            add(.degradedAnswers, .warning, "AI routes are answering in degraded mode")
        }
        if signals.errorRateRising == true {
            add(.errorRateRising, .warning, "the worker error rate is rising")
        }
        if signals.selfTestFailed == true {
            add(.selfTestFailed, .warning, "the latest self-test failed")
        } else if signals.selfTestStale == true {
            add(.selfTestStale, .warning, "the self-test has not run for two intervals")
        }
        return findings
    }

    private func steps(
        for codes: Set<Finding.Code>,
        action: RecoveryAction,
        signals: HealthSignals,
        fallbackModel: String?
    ) -> [String] {
        var steps: [String] = []
        if codes.contains(.stormGuard) {
            steps.append(
                "Read the worker errors in the logs (worker.id, error): workers crashed on their own, too often."
            )
            steps.append(
                "The pool restarts itself on probation after its quiet period (supervisor.nextProbeAt); a heal "
                    + "restarts it on probation now."
            )
        }
        if action == .restartWorkers {
            steps.append(
                "Restart the worker pool: POST /workers/heal with {\"mode\":\"execute\"} and x-confirmed: yes."
            )
        }
        for module in signals.failingModules.prefix(3) {
            steps.append("Fix or remove the worker module \"\(module.id)\": \(module.reason)")
        }
        if codes.contains(.queueBacklog) && !signals.poolEnabled {
            steps.append("The pool is disabled (RUN_WORKERS=false): queued tasks wait until it is enabled.")
        }
        if codes.contains(.modelNotConfigured) {
            steps.append("Set OPENAI_API_KEY (and OPENAI_BASE_URL for a non-OpenAI server), then restart the server.")
        }
        if let fallbackModel {
            steps.append("Serve answers from the fallback model \"\(fallbackModel)\" until the primary breaker closes.")
        } else if codes.contains(.breakerOpen) {
            steps.append("Check the model provider's status and credentials; set FALLBACK_MODEL to keep answering.")
        }
        if codes.contains(.degradedAnswers) || codes.contains(.breakerOpen) {
            steps.append("Watch provider.models[].breaker in GET /workers/status until it is closed again.")
        }
        if codes.contains(.errorRateRising) {
            steps.append("Inspect arcanosWorkers.runtime.lastError and the worker logs for the failing tasks.")
        }
        if codes.contains(.selfTestFailed) || codes.contains(.selfTestStale) {
            steps.append("Run POST /devops/self-test and read logs/healthcheck.json for the failing check.")
        }
        if action == .restartWorkers {
            steps.append("Verify: GET /workers/status shows every configured worker active and autoHeal.status ok.")
        }
        if steps.isEmpty {
            steps.append("No action needed: keep monitoring GET /workers/status.")
        }
        return steps
    }

    private static func message(severity: HealSeverity, action: RecoveryAction, findings: [Finding]) -> String {
        guard let first = findings.max(by: { $0.severity < $1.severity }) else {
            return "All workers are healthy; no action needed."
        }
        let more = findings.count > 1 ? " (+\(findings.count - 1) more finding(s))" : ""
        let text = "\(severity.rawValue.capitalized): \(first.detail)\(more). Recommended action: \(action.rawValue)."
        return String(text.prefix(Self.maximumMessageLength))
    }

    /// At most 10 steps of at most 300 characters: the same bounds the model's plans are held to.
    static func bounded(_ steps: [String]) -> [String] {
        steps.prefix(Self.maximumSteps).map { String($0.prefix(Self.maximumStepLength)) }
    }

    private static func list(_ ids: [String]) -> String {
        let shown = ids.prefix(5).joined(separator: ", ")
        return ids.count > 5 ? shown + ", …" : shown
    }
}
