import Foundation
import Logging

/// Builds recovery plans: the heuristic always, refined by the model when something is wrong. The model
/// answers in a strict JSON schema within a short deadline; anything it gets wrong yields the heuristic plan.
public struct RecoveryPlanner: Sendable {
    public struct Configuration: Sendable, Hashable {
        /// Ask the model at all (`ARCANOS_HEAL_AI`).
        public var aiEnabled: Bool
        /// How long a plan may wait for the model (`ARCANOS_HEAL_AI_TIMEOUT_MS`).
        public var aiDeadline: Duration
        public var heuristic: AutoHealHeuristic.Configuration

        public init(
            aiEnabled: Bool = true,
            aiDeadline: Duration = .seconds(8),
            heuristic: AutoHealHeuristic.Configuration = .init()
        ) {
            self.aiEnabled = aiEnabled
            self.aiDeadline = aiDeadline
            self.heuristic = heuristic
        }
    }

    /// What happened to the model's part of a plan; kept in the audit and logs.
    public enum AIOutcome: String, Sendable, Hashable, Codable, CaseIterable {
        /// Severity was ok: the model is not consulted.
        case notNeeded = "not_needed"
        case disabled
        case notConfigured = "not_configured"
        /// Every model's breaker is open: no call is made.
        case circuitOpen = "circuit_open"
        case used
        case timeout
        /// The call failed (HTTP error, connection, unreadable completion).
        case failed
        /// The model answered, but the plan broke a rule (shape, enum, bounds).
        case invalid
    }

    public struct Result: Sendable, Hashable {
        public var plan: RecoveryPlan
        public var assessment: AutoHealHeuristic.Assessment
        public var ai: AIOutcome
        /// Why the model's plan was not used, for logs and the audit; safe text, never the model's output.
        public var aiDetail: String?
    }

    public let configuration: Configuration
    private let client: ResilientLLMClient?
    private let logger: Logger
    private let metrics: ArcanosMetrics

    public init(
        client: ResilientLLMClient?,
        configuration: Configuration = .init(),
        logger: Logger,
        metrics: ArcanosMetrics = .disabled
    ) {
        self.client = client
        self.configuration = configuration
        self.logger = logger
        self.metrics = metrics
    }

    public var heuristic: AutoHealHeuristic { AutoHealHeuristic(configuration: self.configuration.heuristic) }

    public func plan(for signals: HealthSignals, now: Date) async -> Result {
        let assessment = self.heuristic.assess(signals)
        let fallback = RecoveryPlan(heuristic: assessment, generatedAt: now)
        func heuristicResult(_ outcome: AIOutcome, _ detail: String? = nil) -> Result {
            Result(plan: fallback, assessment: assessment, ai: outcome, aiDetail: detail)
        }
        guard assessment.severity != .ok else { return heuristicResult(.notNeeded) }
        guard self.configuration.aiEnabled else { return heuristicResult(.disabled) }
        guard let client = self.client else { return heuristicResult(.notConfigured) }
        switch client.availability() {
        case .notConfigured: return heuristicResult(.notConfigured)
        case .circuitOpen: return heuristicResult(.circuitOpen)
        case .available: break
        }

        let request: LLMRequest
        do {
            request = try Self.request(signals: signals, assessment: assessment)
        } catch {
            return heuristicResult(.failed, "could not encode the signals")
        }
        let completion: LLMCompletion?
        do {
            completion = try await Self.withDeadline(self.configuration.aiDeadline) {
                try await client.complete(request)
            }
        } catch is CancellationError {
            return heuristicResult(.failed, "cancelled")
        } catch {
            let kind = LLMFailure(from: error)?.kind.rawValue ?? "error"
            self.logger.warning("recovery plan model call failed", metadata: ["llm.failure": "\(kind)"])
            return heuristicResult(kind == LLMFailure.Kind.timeout.rawValue ? .timeout : .failed, kind)
        }
        guard let completion else {
            self.logger.warning(
                "recovery plan model call timed out",
                metadata: ["heal.ai_deadline_ms": "\(self.configuration.aiDeadline.milliseconds)"]
            )
            return heuristicResult(.timeout, "deadline of \(self.configuration.aiDeadline.milliseconds) ms")
        }
        switch Self.validate(completion.content, heuristic: assessment, signals: signals) {
        case .success(let proposal):
            if !proposal.droppedFields.isEmpty {
                // Servers that do not enforce `strict` add fields of their own; the plan is still good.
                self.metrics.recordPlanFieldsDropped(proposal.droppedFields.count)
                self.logger.debug(
                    "recovery plan from the model carried extra fields; dropped",
                    metadata: [
                        "heal.ai_dropped_fields": "\(proposal.droppedFields.prefix(5).map { String($0.prefix(40)) })"
                    ]
                )
            }
            let plan = RecoveryPlan(
                severity: proposal.severity,
                recommendedAction: proposal.recommendedAction,
                message: proposal.message,
                steps: proposal.steps,
                fallbackModel: proposal.fallbackModel,
                source: .ai,
                generatedAt: now
            )
            return Result(plan: plan, assessment: assessment, ai: .used, aiDetail: nil)
        case .failure(let problem):
            self.logger.warning(
                "recovery plan from the model rejected",
                metadata: ["heal.ai_problem": "\(problem.reason)"]
            )
            return heuristicResult(.invalid, problem.reason)
        }
    }

    // MARK: - The model's side

    /// The schema the model must answer in. Strict mode wants every property required and no extra ones;
    /// `fallbackModel` is nullable through a type union. Bounds (10 steps of 300 characters) are checked
    /// here after decoding: strict mode does not enforce `maxItems`/`maxLength` everywhere.
    public static let planSchema: JSONValue = [
        "type": "object",
        "additionalProperties": false,
        "required": ["planId", "severity", "recommendedAction", "message", "steps", "fallbackModel"],
        "properties": [
            "planId": ["type": "string"],
            "severity": ["type": "string", "enum": .array(HealSeverity.allCases.map { .string($0.rawValue) })],
            "recommendedAction": [
                "type": "string", "enum": .array(RecoveryAction.allCases.map { .string($0.rawValue) }),
            ],
            "message": ["type": "string"],
            "steps": ["type": "array", "items": ["type": "string"]],
            "fallbackModel": ["type": ["string", "null"]],
        ],
    ]

    public static let schemaName = "arcanos_recovery_plan"

    static let systemPrompt = """
        You are the recovery planner of Arcanos, a self-healing AI backend. You receive health signals and \
        a deterministic assessment. Answer with one recovery plan as JSON in the given schema. \
        recommendedAction is one of: monitor, restart-workers (swap the whole worker pool), fallback-model \
        (serve from the fallback model), escalate (a human must act). severity is ok, warning or critical. \
        Give 1 to 10 concrete steps of at most 300 characters each, and a message of at most 500 characters. \
        fallbackModel is null or one of the configured models. Never suggest commands outside Arcanos' HTTP API.
        """

    private static let inputEncoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        encoder.dateEncodingStrategy = .iso8601
        return encoder
    }()

    static func request(signals: HealthSignals, assessment: AutoHealHeuristic.Assessment) throws -> LLMRequest {
        struct Input: Encodable {
            var signals: HealthSignals
            var assessment: AutoHealHeuristic.Assessment
        }
        let input = String(
            decoding: try Self.inputEncoder.encode(Input(signals: signals, assessment: assessment)),
            as: UTF8.self
        )
        return LLMRequest(
            messages: [.system(Self.systemPrompt), .user(input)],
            responseFormat: .jsonSchema(name: Self.schemaName, schema: Self.planSchema, strict: true),
            maxTokens: 800,
            temperature: 0
        )
    }

    /// A plan the model proposed that passed every rule.
    struct Proposal: Sendable, Hashable {
        var severity: HealSeverity
        var recommendedAction: RecoveryAction
        var message: String
        var steps: [String]
        var fallbackModel: String?
        /// Fields outside the schema that the model added; dropped, never used.
        var droppedFields: [String] = []
    }

    struct Problem: Error, Sendable, Hashable {
        var reason: String
    }

    /// Checks the model's answer field by field. The model may raise the severity but never lower it below
    /// the heuristic's: the heuristic reads hard facts (a dead worker is dead), the model only words the plan.
    static func validate(
        _ content: String,
        heuristic: AutoHealHeuristic.Assessment,
        signals: HealthSignals
    ) -> Swift.Result<Proposal, Problem> {
        func fail(_ reason: String) -> Swift.Result<Proposal, Problem> { .failure(Problem(reason: reason)) }
        guard let data = content.data(using: .utf8),
            let value = try? JSONDecoder().decode(JSONValue.self, from: data),
            case .object(let object) = value
        else { return fail("not a JSON object") }
        let expected: Set = ["planId", "severity", "recommendedAction", "message", "steps", "fallbackModel"]
        let missing = expected.subtracting(object.keys)
        guard missing.isEmpty else { return fail("missing fields: \(missing.sorted().joined(separator: ", "))") }
        let extra = Set(object.keys).subtracting(expected).sorted()
        guard case .string = object["planId"] else { return fail("planId is not a string") }
        guard let severity = object["severity"]?.stringValue.flatMap(HealSeverity.init(rawValue:)) else {
            return fail("severity is not one of ok, warning, critical")
        }
        guard let action = object["recommendedAction"]?.stringValue.flatMap(RecoveryAction.init(rawValue:)) else {
            return fail("recommendedAction is outside the enum")
        }
        if action == .restartWorkers && !signals.poolEnabled {
            return fail("restart-workers while the pool is disabled")
        }
        guard let message = object["message"]?.stringValue?.trimmingWhitespace(),
            !message.isEmpty, message.count <= AutoHealHeuristic.maximumMessageLength
        else { return fail("message is empty, not a string or too long") }
        guard case .array(let rawSteps) = object["steps"] else { return fail("steps is not an array") }
        guard (1...AutoHealHeuristic.maximumSteps).contains(rawSteps.count) else {
            return fail("1 to 10 steps required")
        }
        var steps: [String] = []
        for raw in rawSteps {
            guard let step = raw.stringValue?.trimmingWhitespace(), !step.isEmpty,
                step.count <= AutoHealHeuristic.maximumStepLength
            else { return fail("a step is empty, not a string or longer than 300 characters") }
            steps.append(step)
        }
        var fallbackModel: String?
        switch object["fallbackModel"] {
        case .null?: fallbackModel = nil
        case .string(let model)?:
            // A plan must not point operators at a model this server does not run.
            guard signals.models.contains(model) else { return fail("fallbackModel is not a configured model") }
            fallbackModel = model
        default: return fail("fallbackModel is neither a string nor null")
        }
        return .success(
            Proposal(
                severity: max(severity, heuristic.severity),
                recommendedAction: action,
                message: message,
                steps: steps,
                fallbackModel: fallbackModel,
                droppedFields: extra
            )
        )
    }

    /// Runs `operation` for at most `deadline`; nil when the deadline came first (the operation is cancelled).
    static func withDeadline<Value: Sendable>(
        _ deadline: Duration,
        _ operation: @escaping @Sendable () async throws -> Value
    ) async throws -> Value? {
        try await withThrowingTaskGroup(of: Value?.self) { group in
            group.addTask { try await operation() }
            group.addTask {
                try await Task.sleep(for: deadline)
                return nil
            }
            defer { group.cancelAll() }
            return try await group.next() ?? nil
        }
    }
}
