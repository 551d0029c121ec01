import Foundation

/// The body of `POST /workers/heal`: `{execute?: Bool, mode?: "plan"|"execute", force?: Bool}`, decoded
/// strictly. Unknown keys are rejected too: a typo such as `{"mod":"plan"}` from a trusted automation would
/// otherwise be read as an empty body and execute a heal nobody meant to run.
public struct HealRequest: Sendable, Hashable, Codable {
    public enum Mode: String, Sendable, Hashable, Codable, CaseIterable {
        case plan, execute
    }

    public var execute: Bool?
    public var mode: Mode?
    /// Also reset the restart-storm guard's memory (an operator's override): without it an unsafe pool restarts
    /// on probation and keeps its grown quiet period.
    public var force: Bool

    public init(execute: Bool? = nil, mode: Mode? = nil, force: Bool = false) {
        self.execute = execute
        self.mode = mode
        self.force = force
    }

    public static let allowedKeys = ["execute", "mode", "force"]

    /// Parses a request body. An empty body is `{}`. Every problem found is listed in the error's `details`
    /// as `{field, problem}`; values are never echoed back.
    public static func decode(_ body: Data) throws -> HealRequest {
        let isBlank = body.allSatisfy { $0 == 0x20 || $0 == 0x0A || $0 == 0x0D || $0 == 0x09 }
        if isBlank { return HealRequest() }
        guard let value = try? JSONDecoder().decode(JSONValue.self, from: body) else {
            throw Self.invalid([("body", "is not valid JSON")])
        }
        guard case .object(let object) = value else {
            throw Self.invalid([("body", "must be a JSON object")])
        }
        var problems: [(String, String)] = []
        var request = HealRequest()
        for key in object.keys.sorted() where !Self.allowedKeys.contains(key) {
            problems.append((String(key.prefix(64)), "is not a known field (allowed: execute, mode, force)"))
        }
        switch object["execute"] {
        case nil, .null?: break
        case .bool(let value)?: request.execute = value
        default: problems.append(("execute", "must be a boolean"))
        }
        switch object["mode"] {
        case nil, .null?: break
        case .string(let text)?:
            if let mode = Mode(rawValue: text) {
                request.mode = mode
            } else {
                problems.append(("mode", "must be \"plan\" or \"execute\""))
            }
        default: problems.append(("mode", "must be \"plan\" or \"execute\""))
        }
        switch object["force"] {
        case nil, .null?: break
        case .bool(let value)?: request.force = value
        default: problems.append(("force", "must be a boolean"))
        }
        if request.mode == .plan && request.execute == true {
            problems.append(("mode", "\"plan\" conflicts with execute: true"))
        } else if request.mode == .execute && request.execute == false {
            problems.append(("mode", "\"execute\" conflicts with execute: false"))
        }
        guard problems.isEmpty else { throw Self.invalid(problems) }
        return request
    }

    private static func invalid(_ problems: [(field: String, problem: String)]) -> ArcanosError {
        let message = problems.map { "\($0.field) \($0.problem)" }.joined(separator: "; ")
        return ArcanosError(
            .invalidWorkerHealRequest,
            "Invalid heal request: \(message)",
            details: .array(problems.map { ["field": .string($0.field), "problem": .string($0.problem)] })
        )
    }

    /// The caller asked for a plan only (`execute: false` or `mode: "plan"`).
    public var planOnly: Bool { self.execute == false || self.mode == .plan }
    /// The caller asked to execute (`execute: true` or `mode: "execute"`).
    public var executeRequested: Bool { self.execute == true || self.mode == .execute }
}

/// Who approved a heal, as the confirmation gate saw it.
public struct HealConfirmation: Sendable, Hashable, Codable {
    /// The gate's status (`confirmed`, `trusted-gpt`, `automation-secret`, …).
    public var status: String
    /// The `x-gpt-id` the caller sent, if any.
    public var gptId: String?
    /// The caller is a trusted automation: it executes heals without being asked to.
    public var trustedAutomation: Bool

    public init(status: String, gptId: String? = nil, trustedAutomation: Bool = false) {
        self.status = status
        self.gptId = gptId
        self.trustedAutomation = trustedAutomation
    }
}

/// Whether a heal request executes: DESIGN §5's table as a pure function.
public enum HealDecision: Sendable, Hashable {
    public enum PlanReason: String, Sendable, Hashable, Codable {
        /// `execute: false` or `mode: "plan"`.
        case planRequested = "plan_requested"
        /// A human caller that did not ask to execute.
        case executeNotRequested = "execute_not_requested"
    }

    case plan(PlanReason)
    /// `autoExecuted`: executed because the caller is a trusted automation, not because it asked.
    case execute(autoExecuted: Bool)

    /// `planOnly = execute == false || mode == "plan"`; `requested = execute == true || mode == "execute"`;
    /// `execute = !planOnly && (requested || trustedAutomation)`.
    public static func decide(_ request: HealRequest, confirmation: HealConfirmation) -> HealDecision {
        if request.planOnly { return .plan(.planRequested) }
        if request.executeRequested { return .execute(autoExecuted: false) }
        if confirmation.trustedAutomation { return .execute(autoExecuted: true) }
        return .plan(.executeNotRequested)
    }

    public var executes: Bool {
        if case .execute = self { return true }
        return false
    }
}

extension HealConfirmation {
    /// The audit and response form of what the confirmation gate decided.
    public init(_ context: ConfirmationContext) {
        self.init(status: context.status.rawValue, gptId: context.gptID, trustedAutomation: context.trustedAutomation)
    }
}

extension HealDecision {
    public static func decide(_ request: HealRequest, confirmation: ConfirmationContext) -> HealDecision {
        Self.decide(request, confirmation: HealConfirmation(confirmation))
    }
}
