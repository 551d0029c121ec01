import Foundation

/// A recovery plan as `POST /workers/heal` returns it and the audit keeps it.
public struct RecoveryPlan: Sendable, Hashable, Codable {
    /// Who wrote the plan.
    public enum Source: String, Sendable, Hashable, Codable, CaseIterable {
        case heuristic, ai
    }

    /// Always generated here, never taken from the model: a model may repeat ids, and the audit and
    /// `lastHeal` use this id to tie a heal to its plan.
    public var planId: String
    public var severity: HealSeverity
    public var recommendedAction: RecoveryAction
    public var message: String
    public var steps: [String]
    public var fallbackModel: String?
    public var source: Source
    public var generatedAt: Date

    public init(
        planId: String = UUID().uuidString.lowercased(),
        severity: HealSeverity,
        recommendedAction: RecoveryAction,
        message: String,
        steps: [String],
        fallbackModel: String? = nil,
        source: Source,
        generatedAt: Date
    ) {
        self.planId = planId
        self.severity = severity
        self.recommendedAction = recommendedAction
        self.message = message
        self.steps = steps
        self.fallbackModel = fallbackModel
        self.source = source
        self.generatedAt = generatedAt
    }

    /// The heuristic's plan for an assessment.
    public init(heuristic assessment: AutoHealHeuristic.Assessment, generatedAt: Date) {
        self.init(
            severity: assessment.severity,
            recommendedAction: assessment.recommendedAction,
            message: assessment.message,
            steps: assessment.steps,
            fallbackModel: assessment.fallbackModel,
            source: .heuristic,
            generatedAt: generatedAt
        )
    }

    // `fallbackModel: null` is part of the shape the model is asked for, so keep it explicit here too.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(self.planId, forKey: .planId)
        try container.encode(self.severity, forKey: .severity)
        try container.encode(self.recommendedAction, forKey: .recommendedAction)
        try container.encode(self.message, forKey: .message)
        try container.encode(self.steps, forKey: .steps)
        try container.encode(self.fallbackModel, forKey: .fallbackModel)
        try container.encode(self.source, forKey: .source)
        try container.encode(self.generatedAt, forKey: .generatedAt)
    }
}

/// The `autoHeal` block of `GET /workers/status`: the incident at a glance.
public struct AutoHealSummary: Sendable, Hashable, Codable {
    public var status: HealSeverity
    /// Broken module ids, then dead and hung worker ids.
    public var failingWorkers: [String]
    /// The latest worker error, redacted.
    public var lastError: String?
    public var recommendedAction: RecoveryAction
    /// The call to action, in one sentence.
    public var message: String

    public init(
        status: HealSeverity,
        failingWorkers: [String],
        lastError: String?,
        recommendedAction: RecoveryAction,
        message: String
    ) {
        self.status = status
        self.failingWorkers = failingWorkers
        self.lastError = lastError
        self.recommendedAction = recommendedAction
        self.message = message
    }

    public init(signals: HealthSignals, assessment: AutoHealHeuristic.Assessment) {
        self.init(
            status: assessment.severity,
            failingWorkers: signals.failingWorkers,
            lastError: signals.lastError,
            recommendedAction: assessment.recommendedAction,
            message: Self.callToAction(assessment)
        )
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(self.status, forKey: .status)
        try container.encode(self.failingWorkers, forKey: .failingWorkers)
        try container.encode(self.lastError, forKey: .lastError)
        try container.encode(self.recommendedAction, forKey: .recommendedAction)
        try container.encode(self.message, forKey: .message)
    }

    private static func callToAction(_ assessment: AutoHealHeuristic.Assessment) -> String {
        switch assessment.recommendedAction {
        case .monitor:
            assessment.severity == .ok
                ? "Healthy. No action needed."
                : "\(assessment.message) Keep monitoring; POST /workers/heal returns the full plan."
        case .restartWorkers:
            "\(assessment.message) POST /workers/heal with {\"mode\":\"execute\"} to restart the pool."
        case .fallbackModel:
            "\(assessment.message) Answers come from the fallback model while the primary recovers."
        case .escalate:
            "\(assessment.message) An operator must act; POST /workers/heal returns the steps."
        }
    }
}
