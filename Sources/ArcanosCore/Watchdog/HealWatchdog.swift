import Foundation
import Logging
import Metrics
import Synchronization

/// The heal watchdog: on every check it reads the auto-heal assessment, feeds the severity to
/// `WatchdogStateMachine`, and does what the machine says. It heals through `HealService` — the same code as
/// `POST /workers/heal` — as the caller `watchdog` (audit record with confirmation status `watchdog`, the same
/// per-caller rate limit, the same verification). Checks are driven from outside (`HealWatchdogService` on
/// an interval; tests call `check()` directly), one at a time.
public final class HealWatchdog: Sendable {
    public struct Configuration: Sendable, Hashable {
        /// `ARCANOS_AUTO_HEAL`.
        public var mode: WatchdogMode
        /// `ARCANOS_AUTO_HEAL_INTERVAL_MS`.
        public var interval: Duration
        public var criticalChecksBeforeAction: Int
        public var maximumIneffectiveHeals: Int

        public init(
            mode: WatchdogMode = .off,
            interval: Duration = .seconds(10),
            criticalChecksBeforeAction: Int = 3,
            maximumIneffectiveHeals: Int = 2
        ) {
            self.mode = mode
            self.interval = interval
            self.criticalChecksBeforeAction = criticalChecksBeforeAction
            self.maximumIneffectiveHeals = maximumIneffectiveHeals
        }
    }

    /// The audit principal and confirmation status of every watchdog heal.
    public static let principal = "watchdog"
    public static let caller = HealAuditRecord.Caller(
        principal: principal,
        confirmation: HealConfirmation(status: "watchdog", gptId: nil, trustedAutomation: true)
    )

    public let configuration: Configuration
    private let assess: @Sendable (Date) async -> AutoHealHeuristic.Assessment
    private let healer: HealService?
    private let logger: Logger
    private let metrics: ArcanosMetrics
    private let now: @Sendable () -> Date
    private let machine: Mutex<WatchdogStateMachine>
    private let escalations = Mutex(0)

    /// - Parameters:
    ///   - assess: the auto-heal assessment at an instant (`WorkerStatusService.snapshot(now:).assessment`).
    ///   - healer: the heal path shared with `POST /workers/heal`; nil only where nothing can be healed.
    public init(
        configuration: Configuration,
        assess: @escaping @Sendable (Date) async -> AutoHealHeuristic.Assessment,
        healer: HealService?,
        logger: Logger,
        metrics: ArcanosMetrics = .disabled,
        now: @escaping @Sendable () -> Date = { Date() }
    ) {
        self.configuration = configuration
        self.assess = assess
        self.healer = healer
        self.logger = logger
        self.metrics = metrics
        self.now = now
        self.machine = Mutex(
            WatchdogStateMachine(
                configuration: .init(
                    mode: configuration.mode,
                    criticalChecksBeforeAction: configuration.criticalChecksBeforeAction,
                    maximumIneffectiveHeals: configuration.maximumIneffectiveHeals
                )
            )
        )
    }

    /// One check: assess, decide, act. Returns what was decided. Callers make one check at a time.
    @discardableResult
    public func check() async -> WatchdogStateMachine.Action {
        let assessment = await self.assess(self.now())
        let now = self.now()
        let (action, state) = self.machine.withLock { machine in
            let action = machine.check(
                severity: assessment.severity,
                recommendedAction: assessment.recommendedAction,
                now: now
            )
            return (action, machine)
        }
        switch action {
        case .none:
            break
        case .recovered:
            self.logger.notice(
                "watchdog: severity recovered; acting again",
                metadata: ["heal.severity": "\(assessment.severity.rawValue)"]
            )
        case .plan:
            await self.plan(assessment: assessment)
        case .heal:
            await self.heal(assessment: assessment)
        case .escalate:
            self.escalations.withLock { $0 += 1 }
            self.metrics.counter(Self.escalationsMetric, []).increment()
            self.logger.error(
                "watchdog escalated: severity stays critical and it will not heal again until it recovers",
                metadata: [
                    "heal.severity": "\(assessment.severity.rawValue)",
                    "heal.action": "\(assessment.recommendedAction.rawValue)",
                    "watchdog.detail": "\(state.lastAction?.detail ?? "")",
                    "watchdog.findings": "\(assessment.findings.map(\.code.rawValue))",
                ]
            )
        }
        return action
    }

    public static let escalationsMetric = ArcanosMetrics.Name.watchdogEscalations

    private func plan(assessment: AutoHealHeuristic.Assessment) async {
        guard let healer = self.healer else { return }
        do {
            // Through the heal path too, so that the plan is rate limited and audited like any plan-only request.
            let response = try await healer.heal(HealRequest(mode: .plan), caller: Self.caller)
            self.logger.warning(
                "watchdog: severity critical; recovery plan built (plan mode: nothing executed)",
                metadata: [
                    "heal.plan_id": "\(response.plan.planId)",
                    "heal.action": "\(response.plan.recommendedAction.rawValue)",
                    "heal.source": "\(response.plan.source.rawValue)",
                    "heal.steps": "\(response.plan.steps)",
                ]
            )
        } catch {
            self.logger.notice("watchdog: plan not built", metadata: ["error": "\(error)"])
        }
    }

    private func heal(assessment: AutoHealHeuristic.Assessment) async {
        guard let healer = self.healer else {
            self.finish(executed: false, detail: "no heal service")
            return
        }
        do {
            let response = try await healer.heal(HealRequest(mode: .execute), caller: Self.caller)
            let outcome = response.decision.outcome
            let executed = outcome == .executed || outcome == .joined
            let detail =
                executed
                ? "\(outcome.rawValue); verified: \(response.execution?.verified ?? false)"
                : "\(outcome.rawValue)\(response.decision.detail.map { ": \($0)" } ?? "")"
            self.finish(executed: executed, detail: detail)
            self.logger.warning(
                "watchdog: healed after consecutive critical checks",
                metadata: [
                    "heal.plan_id": "\(response.plan.planId)",
                    "heal.outcome": "\(outcome.rawValue)",
                    "heal.verified": "\(response.execution?.verified ?? false)",
                    "heal.audit_id": "\(response.auditId ?? "")",
                ]
            )
        } catch let error as ArcanosError where error.code == .rateLimited {
            self.finish(executed: false, detail: "rate limited")
            self.logger.notice("watchdog: heal rate limited")
        } catch {
            self.finish(executed: false, detail: "heal failed")
            self.logger.error("watchdog: heal failed", metadata: ["error": "\(error)"])
        }
    }

    private func finish(executed: Bool, detail: String) {
        let now = self.now()
        self.machine.withLock { $0.healFinished(executed: executed, detail: detail, now: now) }
    }

    /// The `watchdog` block of `GET /workers/status`.
    public func report() -> WatchdogReport {
        let machine = self.machine.withLock { $0 }
        return WatchdogReport(
            mode: self.configuration.mode,
            intervalMs: self.configuration.interval.milliseconds,
            consecutiveCritical: machine.consecutiveCritical,
            ineffectiveHeals: machine.ineffectiveHeals,
            escalated: machine.escalated,
            escalations: self.escalations.withLock { $0 },
            lastAction: machine.lastAction
        )
    }
}

/// `watchdog` in `GET /workers/status`: the mode and where the watchdog stands.
public struct WatchdogReport: Sendable, Hashable, Codable {
    public var mode: WatchdogMode
    public var intervalMs: Int64
    public var consecutiveCritical: Int
    /// Heals in a row that did not bring severity down.
    public var ineffectiveHeals: Int
    /// It stopped acting and waits for severity to recover.
    public var escalated: Bool
    /// Escalations since start.
    public var escalations: Int
    public var lastAction: WatchdogStateMachine.LastAction?

    public init(
        mode: WatchdogMode,
        intervalMs: Int64,
        consecutiveCritical: Int,
        ineffectiveHeals: Int,
        escalated: Bool,
        escalations: Int,
        lastAction: WatchdogStateMachine.LastAction?
    ) {
        self.mode = mode
        self.intervalMs = intervalMs
        self.consecutiveCritical = consecutiveCritical
        self.ineffectiveHeals = ineffectiveHeals
        self.escalated = escalated
        self.escalations = escalations
        self.lastAction = lastAction
    }

    // `lastAction: null` before the first action, so the block always has the same keys.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(self.mode, forKey: .mode)
        try container.encode(self.intervalMs, forKey: .intervalMs)
        try container.encode(self.consecutiveCritical, forKey: .consecutiveCritical)
        try container.encode(self.ineffectiveHeals, forKey: .ineffectiveHeals)
        try container.encode(self.escalated, forKey: .escalated)
        try container.encode(self.escalations, forKey: .escalations)
        try container.encode(self.lastAction, forKey: .lastAction)
    }
}
