import ArcanosTesting
import Clocks
import Foundation
import Logging
import ServiceLifecycle
import ServiceLifecycleTestKit
import Synchronization
import Testing

@testable import ArcanosCore

/// The watchdog over the real heal path (`HealService`, `WorkerStatusService`, the audit, the state manager),
/// with a pool whose health the test controls. Checks are injected ticks: `check()` is called directly.
@Suite(.timeLimit(.minutes(1))) struct HealWatchdogTests {
    /// A worker pool that is down until a restart brings it back, if restarts are allowed to help.
    final class FakePool: WorkerPoolControlling {
        struct State {
            var active = 0
            var restartHelps = true
            var restarts = 0
        }
        let configured = 2
        let state = Mutex(State())

        var restarts: Int { self.state.withLock { $0.restarts } }
        func set(active: Int) { self.state.withLock { $0.active = active } }
        func set(restartHelps: Bool) { self.state.withLock { $0.restartHelps = restartHelps } }

        func restart(resetStormGuard: Bool) async -> StartWorkersSummary {
            let active = self.state.withLock { state -> Int in
                state.restarts += 1
                if state.restartHelps { state.active = self.configured }
                return state.active
            }
            return StartWorkersSummary(
                started: true,
                alreadyRunning: false,
                runWorkers: true,
                workerCount: self.configured,
                workerIds: (1...self.configured).prefix(active).map { "arcanos-worker-\($0)" },
                model: "mock-model",
                startedAt: Date(),
                message: "restarted"
            )
        }

        func recordInline(input: String, outcome: Result<String, ArcanosError>) {}

        func status(now: Date) -> (runtime: WorkerRuntimeStatus, supervisor: WorkerSupervisorStatus) {
            let state = self.state.withLock { $0 }
            let ids = (1...self.configured).map { "arcanos-worker-\($0)" }
            var runtime = WorkerRuntimeStatus(
                enabled: true,
                model: "mock-model",
                configuredCount: self.configured,
                workerIds: ids
            )
            runtime.started = true
            runtime.activeListeners = state.active
            let supervisor = WorkerSupervisorStatus(
                state: .running,
                restarts: 0,
                crashes: 0,
                hangs: 0,
                storms: 0,
                stormGuardTripped: false,
                unsafeSince: nil,
                restartsInWindow: 0,
                restartThreshold: 10,
                restartWindowMs: 60_000,
                poolRestarts: state.restarts,
                lastPoolRestartAt: nil,
                workers: ids.enumerated().map { index, id in
                    .init(id: id, state: index < state.active ? .idle : .dead, restarts: 0)
                }
            )
            return (runtime, supervisor)
        }
    }

    struct Harness {
        let watchdog: HealWatchdog
        let pool: FakePool
        let audit: InMemoryHealAuditLog
        let stateStorage: InMemorySystemStateStorage
    }

    func makeHarness(mode: WatchdogMode, rateLimit: Int = 100) -> Harness {
        let logger = Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() })
        let pool = FakePool()
        let audit = InMemoryHealAuditLog()
        let stateStorage = InMemorySystemStateStorage()
        let state = SystemStateManager(storage: stateStorage, version: "test", logger: logger)
        let record = SharedRecord(store: InMemorySharedStateStore(), state: state, logger: logger)
        let status = WorkerStatusService(
            configuration: .init(workersDirectory: "workers", systemModel: "mock-model", environment: "test"),
            inventory: nil,
            pool: pool,
            jobStore: nil,
            askService: nil,
            record: record
        )
        let heal = HealService(
            configuration: .init(rateLimit: .init(maximum: rateLimit), verificationTimeout: .milliseconds(20)),
            status: status,
            planner: RecoveryPlanner(client: nil, logger: logger),
            pool: pool,
            record: record,
            limits: record.store,
            audit: audit,
            logger: logger
        )
        let watchdog = HealWatchdog(
            configuration: .init(mode: mode, interval: .seconds(10)),
            assess: { now in await status.snapshot(now: now).assessment },
            healer: heal,
            logger: logger
        )
        return Harness(watchdog: watchdog, pool: pool, audit: audit, stateStorage: stateStorage)
    }

    func checks(_ watchdog: HealWatchdog, _ count: Int) async -> [WatchdogStateMachine.Action] {
        var actions: [WatchdogStateMachine.Action] = []
        for _ in 0..<count {
            actions.append(await watchdog.check())
        }
        return actions
    }

    @Test func planModeNeverRestarts() async throws {
        let harness = self.makeHarness(mode: .plan)
        let actions = await self.checks(harness.watchdog, 30)
        #expect(harness.pool.restarts == 0)
        #expect(actions.filter { $0 == .plan }.count == 10)
        #expect(!actions.contains(.heal))
        // Each plan went through the heal path as a plan-only request, audited as the watchdog.
        let records = harness.audit.records
        #expect(records.count == 10)
        #expect(records.allSatisfy { $0.outcome == .planned && !$0.decision.execute && $0.restart == nil })
        #expect(records.allSatisfy { $0.caller.principal == "watchdog" && $0.caller.confirmation.status == "watchdog" })
        #expect(harness.watchdog.report().lastAction?.kind == "plan")
    }

    @Test func executeModeRestartsAfterThreeCriticalChecksAndWritesTheAudit() async throws {
        let harness = self.makeHarness(mode: .execute)
        #expect(await self.checks(harness.watchdog, 2) == [.none, .none])
        #expect(harness.pool.restarts == 0)
        #expect(harness.watchdog.report().consecutiveCritical == 2)

        #expect(await harness.watchdog.check() == .heal)
        #expect(harness.pool.restarts == 1)
        let record = try #require(harness.audit.records.first)
        #expect(harness.audit.records.count == 1)
        #expect(record.caller.principal == "watchdog")
        #expect(record.caller.confirmation.status == "watchdog")
        #expect(record.outcome == .executed)
        #expect(record.decision.execute)
        #expect(record.plan.severity == .critical)
        #expect(record.plan.recommendedAction == .restartWorkers)
        #expect(record.verification?.verified == true)
        // The same lastHeal the route writes, with the watchdog as the confirmation.
        let state = try JSONDecoder().decode(
            JSONValue.self,
            from: Data(try #require(harness.stateStorage.contents).utf8)
        )
        #expect(state["workers"]?["lastHeal"]?["confirmation"]?["status"] == "watchdog")
        #expect(state["workers"]?["lastHeal"]?["verified"] == true)

        // The heal helped: severity is no longer critical and nothing else happens.
        #expect(await self.checks(harness.watchdog, 10).allSatisfy { $0 == .none })
        #expect(harness.pool.restarts == 1)
        let report = harness.watchdog.report()
        #expect(report.mode == .execute)
        #expect(report.escalated == false)
        #expect(report.ineffectiveHeals == 0)
        #expect(report.lastAction?.kind == "heal")
    }

    @Test func executeModeEscalatesInsteadOfLoopingWhenHealsDoNotHelp() async throws {
        let harness = self.makeHarness(mode: .execute)
        harness.pool.set(restartHelps: false)
        let actions = await self.checks(harness.watchdog, 60)

        #expect(harness.pool.restarts == 2, "two heals, then no more")
        #expect(actions.filter { $0 == .heal }.count == 2)
        #expect(actions.filter { $0 == .escalate }.count == 1)
        #expect(harness.audit.records.count == 2)
        #expect(harness.audit.records.allSatisfy { $0.verification?.verified == false })
        var report = harness.watchdog.report()
        #expect(report.escalated)
        #expect(report.escalations == 1)
        #expect(report.lastAction?.kind == "escalate")

        // Severity recovers (an operator fixed it): the watchdog stands down, and acts again on a new incident.
        harness.pool.set(active: 2)
        #expect(await harness.watchdog.check() == .recovered)
        report = harness.watchdog.report()
        #expect(!report.escalated)
        harness.pool.set(active: 0)
        harness.pool.set(restartHelps: true)
        #expect(await self.checks(harness.watchdog, 3) == [.none, .none, .heal])
        #expect(harness.pool.restarts == 3)
    }

    @Test func theWatchdogSharesTheHealRateLimit() async throws {
        let harness = self.makeHarness(mode: .execute, rateLimit: 1)
        harness.pool.set(restartHelps: false)
        let actions = await self.checks(harness.watchdog, 30)
        // One heal ran; every later attempt was refused by the limiter, so none counted as ineffective.
        #expect(harness.pool.restarts == 1)
        #expect(!actions.contains(.escalate))
        #expect(harness.watchdog.report().lastAction?.detail == "rate limited")
    }

    @Test func theServiceChecksOnEveryIntervalTick() async throws {
        let harness = self.makeHarness(mode: .execute)
        let clock = TestClock()
        let service = HealWatchdogService(
            watchdog: harness.watchdog,
            clock: clock,
            logger: Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() })
        )
        try await testGracefulShutdown { trigger in
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { try await service.run() }
                for _ in 0..<3 {
                    await clock.waitForSleeper()
                    await clock.advance(by: .seconds(10))
                }
                // The third tick healed; the audit stream says so without any sleeping.
                var appends = harness.audit.appends.makeAsyncIterator()
                let record = await appends.next()
                #expect(record?.outcome == .executed)
                #expect(harness.pool.restarts == 1)
                trigger.triggerGracefulShutdown()
                try await group.waitForAll()
            }
        }
    }
}
