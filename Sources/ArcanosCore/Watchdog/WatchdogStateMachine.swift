import Foundation

/// When the heal watchdog acts, as a pure value: each check hands in the severity (and the heuristic's
/// recommended action) at `now` and gets back what to do.
///
/// - After `criticalChecksBeforeAction` consecutive critical checks it acts: `plan` mode builds a plan,
///   `execute` mode heals. The count starts over after each action, so a heal gets that many checks to show
///   an effect before the next one.
/// - A heal after which severity never dropped below critical is ineffective. After
///   `maximumIneffectiveHeals` of them in a row the watchdog escalates instead of healing again, and stays
///   quiet until severity recovers.
/// - When the heuristic does not recommend a restart (it says `escalate` for broken module definitions), the
///   watchdog escalates at once rather than restarting.
public struct WatchdogStateMachine: Sendable, Hashable {
    public struct Configuration: Sendable, Hashable {
        public var mode: WatchdogMode
        public var criticalChecksBeforeAction: Int
        public var maximumIneffectiveHeals: Int

        public init(mode: WatchdogMode, criticalChecksBeforeAction: Int = 3, maximumIneffectiveHeals: Int = 2) {
            precondition(criticalChecksBeforeAction >= 1 && maximumIneffectiveHeals >= 1)
            self.mode = mode
            self.criticalChecksBeforeAction = criticalChecksBeforeAction
            self.maximumIneffectiveHeals = maximumIneffectiveHeals
        }
    }

    public enum Action: String, Sendable, Hashable, Codable {
        /// Nothing to do.
        case none
        /// Build a recovery plan and report it (plan mode; never restarts).
        case plan
        /// Heal through the heal service (execute mode).
        case heal
        /// Stop acting and call for a human; entered once per incident.
        case escalate
        /// Severity dropped below critical after an escalation: acting is allowed again.
        case recovered
    }

    /// The last thing the watchdog did, for `watchdog.lastAction` in the status.
    public struct LastAction: Sendable, Hashable, Codable {
        /// `plan`, `heal`, `heal-not-executed`, `escalate` or `recovered`.
        public var kind: String
        public var at: Date
        public var severity: HealSeverity
        /// The heal's outcome or why it did not run; safe text.
        public var detail: String?

        public init(kind: String, at: Date, severity: HealSeverity, detail: String? = nil) {
            self.kind = kind
            self.at = at
            self.severity = severity
            self.detail = detail
        }
    }

    public let configuration: Configuration
    public private(set) var consecutiveCritical = 0
    /// Heals in a row after which severity stayed critical.
    public private(set) var ineffectiveHeals = 0
    /// A heal ran and severity has not dropped below critical since.
    public private(set) var healPending = false
    public private(set) var escalated = false
    public private(set) var lastAction: LastAction?
    /// Checks made since start.
    public private(set) var checks = 0

    public init(configuration: Configuration) {
        self.configuration = configuration
    }

    public mutating func check(
        severity: HealSeverity,
        recommendedAction: RecoveryAction,
        now: Date
    ) -> Action {
        self.checks += 1
        guard severity == .critical else {
            self.consecutiveCritical = 0
            // Severity came down: whatever was pending worked, or the incident ended by itself.
            self.healPending = false
            self.ineffectiveHeals = 0
            if self.escalated {
                self.escalated = false
                self.lastAction = LastAction(kind: Action.recovered.rawValue, at: now, severity: severity)
                return .recovered
            }
            return .none
        }
        guard self.configuration.mode != .off, !self.escalated else { return .none }
        self.consecutiveCritical += 1
        guard self.consecutiveCritical >= self.configuration.criticalChecksBeforeAction else { return .none }
        self.consecutiveCritical = 0

        switch self.configuration.mode {
        case .off:
            return .none
        case .plan:
            self.lastAction = LastAction(kind: Action.plan.rawValue, at: now, severity: severity)
            return .plan
        case .execute:
            if self.healPending {
                self.healPending = false
                self.ineffectiveHeals += 1
            }
            let exhausted = self.ineffectiveHeals >= self.configuration.maximumIneffectiveHeals
            if exhausted || recommendedAction != .restartWorkers {
                self.escalated = true
                let detail =
                    exhausted
                    ? "\(self.ineffectiveHeals) heals in a row did not bring severity down"
                    : "the recovery plan does not call for a restart (\(recommendedAction.rawValue))"
                self.lastAction = LastAction(
                    kind: Action.escalate.rawValue,
                    at: now,
                    severity: severity,
                    detail: detail
                )
                return .escalate
            }
            self.lastAction = LastAction(kind: Action.heal.rawValue, at: now, severity: severity)
            self.healPending = true
            return .heal
        }
    }

    /// Records what came of a `.heal`: `executed` when the pool was actually restarted. A heal that did not
    /// run (rate limited, refused) is not counted against the watchdog's patience.
    public mutating func healFinished(executed: Bool, detail: String, now: Date) {
        if !executed {
            self.healPending = false
        }
        self.lastAction = LastAction(
            kind: executed ? Action.heal.rawValue : "heal-not-executed",
            at: now,
            severity: self.lastAction?.severity ?? .critical,
            detail: detail
        )
    }
}
