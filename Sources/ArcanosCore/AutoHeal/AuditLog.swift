import Foundation

/// The heal audit (DESIGN §9): every `POST /workers/heal` request that got a plan, plan-only too, and every
/// watchdog heal. SQLite (`SQLiteHealAuditLog`) in production, memory in tests; both pass
/// `AuditLogContract` in ArcanosTesting.
public protocol AuditLog: Sendable {
    /// Stores `record` and returns it with its `sequence` set.
    @discardableResult
    func append(_ record: HealAuditRecord) async throws -> HealAuditRecord

    /// Records newest first: at most `limit`, only those with a sequence below `before` when given.
    func list(limit: Int, before: Int64?) async throws -> HealAuditPage
}

/// One page of the audit, newest first; `nextBefore` continues it (nil on the last page).
public struct HealAuditPage: Sendable, Hashable, Codable {
    public var heals: [HealAuditRecord]
    public var nextBefore: Int64?

    public init(heals: [HealAuditRecord], nextBefore: Int64?) {
        self.heals = heals
        self.nextBefore = nextBefore
    }

    /// The page for `records` already sorted newest first, of which at most `limit` are shown.
    public init(newestFirst records: [HealAuditRecord], limit: Int) {
        let shown = Array(records.prefix(limit))
        self.init(heals: shown, nextBefore: records.count > limit ? shown.last?.sequence : nil)
    }

    public static let defaultLimit = 20
    public static let maximumLimit = 200
    /// The largest `before`: the largest integer a JSON number holds exactly (2^53 − 1), as `nextBefore` is one.
    public static let maximumCursor: Int64 = 9_007_199_254_740_991
}

/// Everything about one heal request: who, the plan, the decision, what ran and whether it worked.
public struct HealAuditRecord: Sendable, Hashable, Codable {
    /// Who asked, as the gate and authentication saw it. Never a key or a secret.
    public struct Caller: Sendable, Hashable, Codable {
        /// A stable, secret-free name for the caller (`api-key:2`, `gpt:<id>`, `automation`, `watchdog`,
        /// `address:127.0.0.1`); also the rate-limit key.
        public var principal: String
        public var confirmation: HealConfirmation

        public init(principal: String, confirmation: HealConfirmation) {
            self.principal = principal
            self.confirmation = confirmation
        }
    }

    public struct Decision: Sendable, Hashable, Codable {
        public var execute: Bool
        public var autoExecuted: Bool
        /// `plan_requested`, `execute_not_requested`, `execute_requested` or `trusted_automation`.
        public var reason: String

        public init(_ decision: HealDecision) {
            switch decision {
            case .plan(let reason):
                self.execute = false
                self.autoExecuted = false
                self.reason = reason.rawValue
            case .execute(let autoExecuted):
                self.execute = true
                self.autoExecuted = autoExecuted
                self.reason = autoExecuted ? "trusted_automation" : "execute_requested"
            }
        }
    }

    public enum Outcome: String, Sendable, Hashable, Codable, CaseIterable {
        /// A plan was returned; nothing ran.
        case planned
        /// This request started the restart.
        case executed
        /// A restart was already running; this request shared its result.
        case joined
        /// Execution was decided but not run (no pool, or the pool is disabled).
        case refused
        /// The restart failed.
        case failed
    }

    public var id: String
    /// Assigned by the log, increasing; the `before` cursor of `GET /workers/heals`.
    public var sequence: Int64?
    public var requestedAt: Date
    public var completedAt: Date
    public var caller: Caller
    public var request: HealRequest
    public var plan: RecoveryPlan
    public var ai: RecoveryPlanner.AIOutcome
    public var decision: Decision
    public var outcome: Outcome
    /// Why execution was refused or failed; safe text.
    public var outcomeDetail: String?
    public var restart: HealRestart?
    public var verification: HealVerification?
    /// In a cluster: every replica's part of the restart; nil alone.
    public var replicas: [ReplicaRestartOutcome]?

    public init(
        id: String = UUID().uuidString.lowercased(),
        sequence: Int64? = nil,
        requestedAt: Date,
        completedAt: Date,
        caller: Caller,
        request: HealRequest,
        plan: RecoveryPlan,
        ai: RecoveryPlanner.AIOutcome,
        decision: Decision,
        outcome: Outcome,
        outcomeDetail: String? = nil,
        restart: HealRestart? = nil,
        verification: HealVerification? = nil,
        replicas: [ReplicaRestartOutcome]? = nil
    ) {
        self.replicas = replicas
        self.id = id
        self.sequence = sequence
        self.requestedAt = requestedAt
        self.completedAt = completedAt
        self.caller = caller
        self.request = request
        self.plan = plan
        self.ai = ai
        self.decision = decision
        self.outcome = outcome
        self.outcomeDetail = outcomeDetail
        self.restart = restart
        self.verification = verification
    }
}

/// What a pool restart reported: the seed's `startWorkers` summary, as the supervisor returns it.
public typealias HealRestart = StartWorkersSummary

/// The pool after a heal: verified when every configured worker is active again.
public struct HealVerification: Sendable, Hashable, Codable {
    public var verified: Bool
    public var activeWorkers: Int
    public var configuredWorkers: Int
    public var checkedAt: Date

    public init(activeWorkers: Int, configuredWorkers: Int, checkedAt: Date) {
        self.verified = activeWorkers == configuredWorkers
        self.activeWorkers = activeWorkers
        self.configuredWorkers = configuredWorkers
        self.checkedAt = checkedAt
    }
}
