import Foundation
import Logging
import Synchronization

/// The one path every heal takes, from `POST /workers/heal` or the watchdog: rate limit, plan, decide,
/// execute through the supervisor (single-flight), verify, persist `workers.lastHeal`, audit.
public final class HealService: Sendable {
    public struct Configuration: Sendable, Hashable {
        /// `ARCANOS_HEAL_RATE_LIMIT_MAX` per `ARCANOS_HEAL_RATE_LIMIT_WINDOW_MS`, per caller.
        public var rateLimit: RateLimit
        /// How long verification waits for every configured worker to be active again after a restart.
        public var verificationTimeout: Duration

        public init(
            rateLimit: RateLimit = .init(),
            verificationTimeout: Duration = .seconds(2)
        ) {
            self.rateLimit = rateLimit
            self.verificationTimeout = verificationTimeout
        }
    }

    /// What ran for one heal request.
    public struct Execution: Sendable, Hashable, Encodable {
        public var restart: StartWorkersSummary
        /// Executed because the caller is a trusted automation, not because it asked.
        public var autoExecuted: Bool
        public var confirmation: HealConfirmation
        public var verified: Bool
        public var verification: HealVerification
        /// True when this request joined a restart another request had started.
        public var shared: Bool
        /// In a cluster: every replica's part of the restart (its pool's restart and verification).
        public var replicas: [ReplicaRestartOutcome]?
    }

    /// The decision and what became of it: why `execution` is present or not.
    public struct DecisionReport: Sendable, Hashable, Encodable {
        public var execute: Bool
        public var autoExecuted: Bool
        public var reason: String
        public var outcome: HealAuditRecord.Outcome
        public var detail: String?
    }

    /// The body of `POST /workers/heal`: `{timestamp, plan, autoHeal, decision, execution?, runtime, auditId}`.
    public struct Response: Sendable, Encodable {
        public var timestamp: Date
        public var plan: RecoveryPlan
        public var autoHeal: AutoHealSummary
        public var decision: DecisionReport
        /// Present only when a restart ran.
        public var execution: Execution?
        /// `arcanosWorkers.runtime` after the heal (public projection).
        public var runtime: WorkerStatusPayload.Runtime?
        /// The audit record of this request; nil when it could not be written.
        public var auditId: String?
    }

    /// The outcome of one pool restart, shared by every request that joined it.
    struct RestartOutcome: Sendable {
        var summary: StartWorkersSummary
        var verification: HealVerification
        var restartMs: String
        var verifyMs: String
        /// In a cluster: every replica's part of the restart.
        var replicas: [ReplicaRestartOutcome]? = nil
    }

    public let configuration: Configuration
    private let status: WorkerStatusService
    private let planner: RecoveryPlanner
    private let pool: (any WorkerPoolControlling)?
    private let record: SharedRecord?
    private let audit: any AuditLog
    private let logger: Logger
    private let now: @Sendable () -> Date
    /// Where heal requests are counted, shared by the replicas.
    private let limits: any SharedStateStore
    /// The restart running now; requests that arrive while it runs await its outcome instead of restarting.
    private let inFlight = Mutex<OneShot<RestartOutcome>?>(nil)
    private let observer: (@Sendable (Event) -> Void)?
    private let cluster: ClusterMembership?
    /// This replica's parts of cluster restarts, by restart id (the last few): each runs once, however many
    /// heals and heartbeats ask for it.
    private let clusterParts = Mutex<[(id: String, part: OneShot<ReplicaRestartOutcome>)]>([])

    /// Moments of a heal, for tests and metrics.
    public enum Event: Sendable, Hashable {
        /// A request started a restart.
        case restartStarted
        /// A request joined the restart already running.
        case restartJoined
        case restartFinished(verified: Bool)
    }

    public init(
        configuration: Configuration = .init(),
        status: WorkerStatusService,
        planner: RecoveryPlanner,
        pool: (any WorkerPoolControlling)?,
        record: SharedRecord?,
        limits: any SharedStateStore,
        audit: any AuditLog,
        logger: Logger,
        now: @escaping @Sendable () -> Date = { Date() },
        observer: (@Sendable (Event) -> Void)? = nil,
        cluster: ClusterMembership? = nil
    ) {
        self.cluster = cluster
        self.configuration = configuration
        self.status = status
        self.planner = planner
        self.pool = pool
        self.record = record
        self.audit = audit
        self.logger = logger
        self.now = now
        self.limits = limits
        self.observer = observer
    }

    /// Counts a heal request against `principal`'s limit, on every replica; throws 429 `rate_limited` with
    /// `Retry-After` past it (and `storeUnavailable` when the count cannot be read).
    public func checkRateLimit(principal: String) async throws {
        let decision = try await self.limits.acquire(
            scope: RateLimitScope.heal,
            caller: principal,
            limit: self.configuration.rateLimit,
            now: self.now()
        )
        if case .reject(let retryAfter) = decision {
            self.logger.notice("heal rate limited", metadata: ["heal.principal": "\(principal)"])
            throw ArcanosError(
                .rateLimited,
                "Too many heal requests; retry after \(ArcanosError.wholeSeconds(retryAfter)) s",
                retryAfter: retryAfter
            )
        }
    }

    /// A plan for the system as it is now, without deciding or executing anything (the watchdog's `plan` mode).
    public func plan() async -> (plan: RecoveryPlanner.Result, snapshot: WorkerStatusSnapshot) {
        let snapshot = await self.status.snapshot(now: self.now())
        return (await self.planner.plan(for: snapshot.signals, now: self.now()), snapshot)
    }

    /// Handles one heal request end to end. Throws only `rate_limited` (or `store_unavailable` when the limit
    /// cannot be counted); every other problem is reported in
    /// the response and the audit.
    public func heal(_ request: HealRequest, caller: HealAuditRecord.Caller) async throws -> Response {
        try await self.checkRateLimit(principal: caller.principal)
        let requestedAt = self.now()
        let clock = ContinuousClock()
        let start = clock.now
        let (planned, snapshot) = await self.plan()
        let plannedAt = clock.now
        let decision = HealDecision.decide(request, confirmation: caller.confirmation)
        let audited = HealAuditRecord.Decision(decision)
        var report = DecisionReport(
            execute: audited.execute,
            autoExecuted: audited.autoExecuted,
            reason: audited.reason,
            outcome: .planned
        )

        var execution: Execution?
        var restartSummary: StartWorkersSummary?
        var verification: HealVerification?
        var executedAt: Date?
        var restartTimings: (restart: String, verify: String)?
        if decision.executes {
            if let refusal = self.refusal(snapshot: snapshot) {
                report.outcome = .refused
                report.detail = refusal
                self.logger.warning("heal refused", metadata: ["heal.reason": "\(refusal)"])
            } else if let pool = self.pool {
                executedAt = self.now()
                let (outcome, shared) =
                    if let cluster = self.cluster {
                        await self.restartCluster(cluster, pool: pool, force: request.force)
                    } else {
                        await self.restart(pool: pool, force: request.force)
                    }
                report.outcome = shared ? .joined : .executed
                restartTimings = (outcome.restartMs, outcome.verifyMs)
                restartSummary = outcome.summary
                verification = outcome.verification
                execution = Execution(
                    restart: outcome.summary,
                    autoExecuted: report.autoExecuted,
                    confirmation: caller.confirmation,
                    verified: outcome.verification.verified,
                    verification: outcome.verification,
                    shared: shared,
                    replicas: outcome.replicas
                )
            }
        }

        let completedAt = self.now()
        let record = HealAuditRecord(
            requestedAt: requestedAt,
            completedAt: completedAt,
            caller: caller,
            request: request,
            plan: planned.plan,
            ai: planned.ai,
            decision: audited,
            outcome: report.outcome,
            outcomeDetail: report.detail ?? (verification?.verified == false ? "verification failed" : nil),
            restart: restartSummary,
            verification: verification,
            replicas: execution?.replicas
        )
        let auditStart = clock.now
        // The request that ran the restart records it in systemState.json, beside its audit write.
        async let persisted: String? =
            if report.outcome == .executed, let verification, let executedAt {
                self.persistLastHeal(
                    plan: planned.plan,
                    confirmation: caller.confirmation,
                    verification: verification,
                    executedAt: executedAt
                )
            } else {
                nil
            }
        var auditId: String?
        do {
            auditId = try await self.audit.append(record).id
        } catch {
            // The heal happened; losing its audit line is logged loudly rather than failing the response.
            self.logger.error(
                "heal audit append failed",
                metadata: ["error": "\(error)", "heal.plan_id": "\(planned.plan.planId)"]
            )
        }
        let auditMs = Self.milliseconds(auditStart, clock.now)
        let persistMs = await persisted
        var metadata: Logger.Metadata = [
            "heal.plan_id": "\(planned.plan.planId)", "heal.severity": "\(planned.plan.severity.rawValue)",
            "heal.source": "\(planned.plan.source.rawValue)", "heal.outcome": "\(report.outcome.rawValue)",
            "heal.principal": "\(caller.principal)", "confirmation.status": "\(caller.confirmation.status)",
            "heal.plan_ms": "\(Self.milliseconds(start, plannedAt))", "heal.audit_ms": "\(auditMs)",
            "heal.total_ms": "\(Self.milliseconds(start, clock.now))",
        ]
        if let restartTimings, report.outcome == .executed {
            metadata["heal.restart_ms"] = "\(restartTimings.restart)"
            metadata["heal.verify_ms"] = "\(restartTimings.verify)"
            metadata["heal.verified"] = "\(verification?.verified ?? false)"
        }
        if let persistMs { metadata["heal.persist_ms"] = "\(persistMs)" }
        // Executed heals are what an operator looks for in the log; plans are routine.
        self.logger.log(
            level: report.outcome == .executed ? .notice : .info,
            "heal request handled",
            metadata: metadata
        )
        let runtime: WorkerStatusPayload.Runtime? =
            if execution != nil, let pool = self.pool {
                WorkerStatusPayload.Runtime(pool.status(now: completedAt).runtime, view: .public)
            } else {
                snapshot.runtimePayload(view: .public)
            }
        return Response(
            timestamp: completedAt,
            plan: planned.plan,
            autoHeal: snapshot.autoHeal,
            decision: report,
            execution: execution,
            runtime: runtime,
            auditId: auditId
        )
    }

    /// Why an execution decided on must not run, or nil.
    private func refusal(snapshot: WorkerStatusSnapshot) -> String? {
        guard self.pool != nil, let runtime = snapshot.runtime else { return "no worker pool is configured" }
        // A heal never overrides RUN_WORKERS=false. A tripped storm guard does not refuse it: without `force` the
        // pool restarts on probation (the guard stays armed), with `force` the guard forgets the storm.
        guard runtime.enabled else { return "the worker pool is disabled (RUN_WORKERS=false)" }
        return nil
    }

    /// Restarts the pool, or joins the restart already running: every request gets the same summary and
    /// verification. The leader runs the restart in its own task (no hop to another one) and hands the outcome
    /// to the others through a `OneShot`; it never throws, so the `OneShot` is always resolved.
    private func restart(pool: any WorkerPoolControlling, force: Bool) async -> (RestartOutcome, shared: Bool) {
        let (flight, shared) = self.inFlight.withLock { inFlight -> (OneShot<RestartOutcome>, Bool) in
            if let running = inFlight { return (running, true) }
            let flight = OneShot<RestartOutcome>()
            inFlight = flight
            return (flight, false)
        }
        self.observer?(shared ? .restartJoined : .restartStarted)
        if shared { return (await flight.value, true) }

        let clock = ContinuousClock()
        let restartStart = clock.now
        // Only `force` clears the storm guard's memory; without it an unsafe pool restarts on probation.
        let summary = await pool.restart(resetStormGuard: force)
        let verifyStart = clock.now
        let verification = await self.verify(pool: pool)
        let outcome = RestartOutcome(
            summary: summary,
            verification: verification,
            restartMs: Self.milliseconds(restartStart, verifyStart),
            verifyMs: Self.milliseconds(verifyStart, clock.now)
        )
        // Cleared before resolving: a heal that arrives from here on starts a fresh restart.
        self.inFlight.withLock { $0 = nil }
        flight.resolve(outcome)
        self.observer?(.restartFinished(verified: verification.verified))
        return (outcome, false)
    }

    /// Writes `lastHeal` to the shared record (mirrored as `workers.lastHeal` in systemState.json): once per
    /// restart, by the request that ran it.
    private func persistLastHeal(
        plan: RecoveryPlan,
        confirmation: HealConfirmation,
        verification: HealVerification,
        executedAt: Date
    ) async -> String {
        guard let record = self.record else { return "0" }
        let clock = ContinuousClock()
        let start = clock.now
        let lastHeal: JSONValue = [
            "executedAt": .string(executedAt.iso8601Milliseconds),
            "planId": .string(plan.planId),
            "severity": .string(plan.severity.rawValue),
            "recommendedAction": .string(plan.recommendedAction.rawValue),
            "source": .string(plan.source.rawValue),
            "confirmation": [
                "status": .string(confirmation.status),
                "gptId": confirmation.gptId.map(JSONValue.string) ?? .null,
                "trustedAutomation": .bool(confirmation.trustedAutomation),
            ],
            "verified": .bool(verification.verified),
        ]
        do {
            try await record.set(lastHeal, for: .lastHeal, now: executedAt)
        } catch {
            self.logger.error("could not persist workers.lastHeal", metadata: ["error": "\(error)"])
        }
        return Self.milliseconds(start, clock.now)
    }

    /// A heal in a cluster: begins a restart of every live replica's pool, or joins the one already running,
    /// runs this replica's part, and waits (up to the verification timeout and two heartbeats) for every replica
    /// alive when it began to report its own. Verified when every one of them did, verified. A store that
    /// cannot be reached restarts this replica's pool alone, and says so in the verification.
    private func restartCluster(
        _ cluster: ClusterMembership,
        pool: any WorkerPoolControlling,
        force: Bool
    ) async -> (RestartOutcome, shared: Bool) {
        let now = self.now()
        let beat = cluster.replicaTimeout / 5
        let wait = self.configuration.verificationTimeout + beat * 2
        let candidate = ClusterRestart(
            id: UUID().uuidString.lowercased(),
            force: force,
            requestedBy: cluster.replicaID,
            requestedAt: now,
            expiresAt: now.addingDuration(wait + beat)
        )
        let begun: ClusterRestart
        let expected: Set<String>
        do {
            begun = try await cluster.store.beginRestart(candidate, now: now)
            let alive = try await cluster.store.replicas().filter {
                $0.isAlive(now: now, timeout: cluster.replicaTimeout)
            }
            expected = Set(alive.map(\.id) + [cluster.replicaID])
        } catch {
            self.logger.error(
                "cluster restart not coordinated: restarting this replica only",
                metadata: ["error": "\(error)"]
            )
            return await self.restart(pool: pool, force: force)
        }
        let joined = begun.id != candidate.id
        let start = ContinuousClock.now
        let own = await self.runPart(of: begun, cluster: cluster, pool: pool)
        var outcomes: [ReplicaRestartOutcome] = [own]
        let deadline = start + wait
        while ContinuousClock.now < deadline, !Task.isCancelled {
            if let recorded = try? await cluster.store.restartOutcomes(begun.id) {
                outcomes = recorded.contains { $0.replicaID == own.replicaID } ? recorded : recorded + [own]
                if expected.isSubset(of: outcomes.map(\.replicaID)) { break }
            }
            try? await Task.sleep(for: .milliseconds(50))
        }
        if !joined { try? await cluster.store.finishRestart(begun.id) }
        var verification = HealVerification(
            activeWorkers: outcomes.map(\.verification.activeWorkers).reduce(0, +),
            configuredWorkers: outcomes.map(\.verification.configuredWorkers).reduce(0, +),
            checkedAt: self.now()
        )
        verification.verified =
            outcomes.allSatisfy(\.verification.verified) && expected.isSubset(of: outcomes.map(\.replicaID))
        let outcome = RestartOutcome(
            summary: own.restart,
            verification: verification,
            restartMs: Self.milliseconds(start, ContinuousClock.now),
            // The replicas verified side by side: the cluster's verification took as long as the slowest.
            verifyMs: outcomes.compactMap { $0.verifyMs.flatMap(Double.init) }.max().map { String(format: "%.1f", $0) }
                ?? "0.0",
            replicas: outcomes.sorted { $0.replicaID < $1.replicaID }
        )
        return (outcome, joined)
    }

    /// This replica's part of cluster restart `restart`: its own pool restarted (through the same single-flight
    /// restart a local heal uses) and verified, recorded in the store. Runs once per restart; later calls, from
    /// heals joining it or from heartbeats, get the same outcome.
    @discardableResult
    public func runPart(of restart: ClusterRestart) async -> ReplicaRestartOutcome? {
        guard let cluster = self.cluster, let pool = self.pool else { return nil }
        return await self.runPart(of: restart, cluster: cluster, pool: pool)
    }

    private func runPart(
        of restart: ClusterRestart,
        cluster: ClusterMembership,
        pool: any WorkerPoolControlling
    ) async -> ReplicaRestartOutcome {
        let (part, first) = self.clusterParts.withLock { parts -> (OneShot<ReplicaRestartOutcome>, Bool) in
            if let known = parts.first(where: { $0.id == restart.id }) { return (known.part, false) }
            let part = OneShot<ReplicaRestartOutcome>()
            parts.append((restart.id, part))
            if parts.count > 16 { parts.removeFirst(parts.count - 16) }
            return (part, true)
        }
        if !first { return await part.value }
        let (outcome, _) = await self.restart(pool: pool, force: restart.force)
        let result = ReplicaRestartOutcome(
            replicaID: cluster.replicaID,
            restart: outcome.summary,
            verification: outcome.verification,
            verifyMs: outcome.verifyMs
        )
        do {
            try await cluster.store.recordRestartOutcome(result, restartID: restart.id)
        } catch {
            self.logger.error("cluster restart outcome not recorded", metadata: ["error": "\(error)"])
        }
        part.resolve(result)
        return result
    }

    /// Active workers == configured, waiting up to `verificationTimeout` for replacements to register.
    private func verify(pool: any WorkerPoolControlling) async -> HealVerification {
        let deadline = ContinuousClock.now + self.configuration.verificationTimeout
        while true {
            let runtime = pool.status(now: self.now()).runtime
            let verification = HealVerification(
                activeWorkers: runtime.activeListeners,
                configuredWorkers: runtime.configuredCount,
                checkedAt: self.now()
            )
            if verification.verified || ContinuousClock.now >= deadline || Task.isCancelled { return verification }
            // Replacements register within a few milliseconds; a coarse poll would add its whole period.
            try? await Task.sleep(for: .milliseconds(1))
        }
    }
}

extension HealService {
    /// Milliseconds between two instants, with one decimal, for log metadata.
    static func milliseconds(_ start: ContinuousClock.Instant, _ end: ContinuousClock.Instant) -> String {
        String(format: "%.1f", start.duration(to: end).seconds * 1000)
    }
}

extension ArcanosError {
    /// Whole seconds, rounded up, at least 1: what a `Retry-After` header or message says.
    public static func wholeSeconds(_ duration: Duration) -> Int64 {
        max(1, Int64(duration.seconds.rounded(.up)))
    }
}
