import ArcanosApp
import ArcanosCore
import ArcanosHTTP
import ArcanosStore
import ArcanosTesting
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import NIOCore
import ServiceLifecycle
import Synchronization
import Testing

/// Heals against the real supervised pool, with jobs in flight, the state file on disk and the SQLite audit.
@Suite(.timeLimit(.minutes(1))) struct AutoHealPoolTests {
    /// Delegates to the real supervisor, but holds restarts until the test opens the gate, so that every
    /// concurrent heal is provably inside the single flight before it ends.
    final class GatedPool: WorkerPoolControlling {
        let pool: any WorkerPoolControlling
        let gate = OneShot<Void>()
        let calls = Mutex(0)

        init(_ pool: any WorkerPoolControlling) {
            self.pool = pool
        }

        func restart(resetStormGuard: Bool) async -> StartWorkersSummary {
            self.calls.withLock { $0 += 1 }
            await self.gate.value
            return await self.pool.restart(resetStormGuard: resetStormGuard)
        }

        func status(now: Date) -> (runtime: WorkerRuntimeStatus, supervisor: WorkerSupervisorStatus) {
            self.pool.status(now: now)
        }

        func recordInline(input: String, outcome: Result<String, ArcanosError>) {
            self.pool.recordInline(input: input, outcome: outcome)
        }
    }

    @Test func eightConcurrentExecutesRestartTheRealPoolOnceAndLoseNoJob() async throws {
        let dataDirectory = makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dataDirectory) }
        let store = try SQLiteJobStore(path: dataDirectory + "/" + SQLiteJobStore.fileName)
        let audit = try SQLiteHealAuditLog(path: dataDirectory + "/" + SQLiteJobStore.fileName)
        let signals = JobQueueSignals()
        let poolEvents = EventLog<WorkerPoolEvent>()
        let runs = Mutex<[String: Int]>([:])
        let executor = ScriptedTaskExecutor { _, input in
            runs.withLock { $0[input, default: 0] += 1 }
            try await Task.sleep(for: .milliseconds(2))
            return input
        }
        let poolConfiguration = WorkerPoolConfiguration(
            workerCount: 4,
            model: "test-model",
            leaseDuration: .seconds(30),
            pollInterval: .seconds(3600),
            retry: .init(initialDelay: .zero)
        )
        let supervisor = WorkerSupervisor(
            configuration: poolConfiguration,
            store: store,
            executor: executor,
            signals: signals,
            clock: ContinuousClock(),
            logger: quietLogger,
            onEvent: poolEvents.recorder
        )
        let pool = GatedPool(supervisor)
        let state = SystemStateManager(
            storage: SystemStateFile(directory: dataDirectory),
            version: "test",
            logger: quietLogger
        )
        let record = SharedRecord(store: InMemorySharedStateStore(), state: state, logger: quietLogger)
        var configuration = AppConfiguration()
        configuration.server.dataDirectory = dataDirectory
        let client = ResilientLLMClient(
            provider: nil,
            configuration: .init(models: ["test-model"]),
            logger: quietLogger
        )
        let askService = AskService(client: client)
        let status = WorkerStatusService(
            configuration: .init(
                workersDirectory: dataDirectory + "/workers",
                systemModel: "test-model",
                environment: "test"
            ),
            inventory: nil,
            pool: pool,
            jobStore: store,
            askService: askService,
            record: record
        )
        let healEvents = EventLog<HealService.Event>()
        let heal = HealService(
            configuration: .init(rateLimit: .init(maximum: 100), verificationTimeout: .seconds(5)),
            status: status,
            planner: RecoveryPlanner(client: client, logger: quietLogger),
            pool: pool,
            record: record,
            limits: record.store,
            audit: audit,
            logger: quietLogger,
            observer: healEvents.recorder
        )
        let application = componentApplication(configuration, askService: askService) {
            $0.autoHeal = AutoHealRoutes(status: status, heal: heal, audit: audit)
        }
        let group = ServiceGroup(configuration: .init(services: [supervisor], logger: quietLogger))

        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await group.run() }
            try await poolEvents.waitFor { if case .poolStarted = $0 { true } else { false } }
            for index in 0..<200 {
                _ = try await store.enqueue(
                    NewJob(worker: "arcanos", input: "job \(index)", maxAttempts: 3),
                    now: Date()
                )
                signals.workAvailable()
            }
            try await application.test(.router) { client in
                let bodies = try await withThrowingTaskGroup(of: JSONValue.self) { requests in
                    for _ in 0..<8 {
                        requests.addTask {
                            try await client.execute(
                                uri: "/workers/heal",
                                method: .post,
                                headers: [HTTPField.Name("x-confirmed")!: "yes", .contentType: "application/json"],
                                body: ByteBuffer(string: #"{"execute":true}"#)
                            ) { response in
                                #expect(response.status == .ok)
                                return AutoHealRouteTests.json(response.body)
                            }
                        }
                    }
                    try await healEvents.waitFor(1) { $0 == .restartStarted }
                    try await healEvents.waitFor(7) { $0 == .restartJoined }
                    _ = pool.gate.resolve(())
                    var bodies: [JSONValue] = []
                    for try await body in requests { bodies.append(body) }
                    return bodies
                }
                #expect(bodies.allSatisfy { $0[path: "execution.verified"]?.bool == true })
                #expect(bodies.filter { $0[path: "execution.shared"]?.bool == false }.count == 1)
            }
            // Every job still completes exactly once after the swap.
            try await poolEvents.waitFor(200) {
                if case .jobFinished(_, _, .succeeded) = $0 { true } else { false }
            }
            let (runtime, supervisorStatus) = supervisor.status(now: Date())
            #expect(supervisorStatus.poolRestarts == 1)
            #expect(runtime.workerIds.count == 4)
            #expect(Set(runtime.workerIds).count == 4)
            await group.triggerGracefulShutdown()
            try await tasks.waitForAll()
        }
        #expect(pool.calls.withLock { $0 } == 1)
        // None lost: every job ran; a job the restart interrupted ran again (at-least-once), but each one
        // succeeded exactly once.
        #expect(runs.withLock { $0.count } == 200)
        let succeeded = poolEvents.events.compactMap { event -> String? in
            if case .jobFinished(_, let jobID, .succeeded) = event { jobID } else { nil }
        }
        #expect(succeeded.count == 200)
        #expect(Set(succeeded).count == 200)
        let stats = try await store.stats(now: Date())
        #expect(stats.depth == 0 && stats.inFlight == 0)

        let text = try String(contentsOfFile: dataDirectory + "/systemState.json", encoding: .utf8)
        let document = try JSONDecoder().decode(JSONValue.self, from: Data(text.utf8))
        #expect(document[path: "workers.lastHeal.verified"]?.bool == true)
        #expect(document[path: "workers.lastHeal.confirmation.status"]?.text == "confirmed")
        let page = try await audit.list(limit: 100, before: nil)
        #expect(page.heals.count == 8)
        #expect(page.heals.filter { $0.outcome == .executed }.count == 1)
    }
}
