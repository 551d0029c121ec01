import ArcanosCore
import ArcanosPostgres
import ArcanosStore
import ArcanosTesting
import ArgumentParser
import Foundation
import Logging
import ServiceLifecycle
import Synchronization

extension DevCommand {
    /// `arcanos-dev bench jobs|recovery|hang`: measurements of the job queue and the supervisor, in process, on a
    /// real SQLite file. `bench/jobs.sh` and `bench/recovery.sh` run them against a release build.
    struct Bench: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Measure the job queue, the worker supervisor and the /ask hot path.",
            subcommands: [Jobs.self, Recovery.self, Hang.self, HotPath.self]
        )
    }
}

extension DevCommand.Bench {
    /// No-op jobs through the SQLite (or PostgreSQL) store and the pool: throughput, and enqueue → start latency.
    struct Jobs: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "No-op jobs per second and enqueue→start latency.")

        @Option(help: "Jobs for the throughput runs.")
        var count = 20_000

        @Option(help: "Workers in the pool.")
        var workers = 4

        @Option(help: "Jobs per second offered during the latency run.")
        var rate = 1000

        @Option(help: "Seconds of the latency run.")
        var seconds = 5

        @Option(help: "Directory for the database (default: a temporary one).")
        var dataDir: String?

        @Option(help: "A postgres:// URL: measure the PostgreSQL store there (its finished jobs are deleted first).")
        var databaseURL: String?

        func run() async throws {
            guard let databaseURL else {
                let directory = self.dataDir ?? BenchSupport.temporaryDirectory()
                let path = directory + "/" + SQLiteJobStore.fileName
                try? FileManager.default.removeItem(atPath: path)
                print("store: \(path) (WAL, synchronous=NORMAL); workers: \(self.workers)")
                try await self.measure(SQLiteJobStore(path: path))
                if self.dataDir == nil { try? FileManager.default.removeItem(atPath: directory) }
                return
            }
            let url = try PostgresURL(databaseURL)
            let database = try PostgresDatabaseService(
                url: url,
                source: "--database-url",
                poolSize: self.workers + 8,
                migrations: PostgresJobStore.migrations,
                logger: Logger(label: "bench", factory: { _ in SwiftLogNoOpLogHandler() })
            )
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { try await database.run() }
                defer { group.cancelAll() }
                try await database.ready()
                let store = PostgresJobStore(database: database, logger: Logger(label: "bench"))
                _ = try await store.deleteFinished(before: .distantFuture)
                print("store: PostgreSQL \(url); workers: \(self.workers)")
                try await self.measure(store)
            }
        }

        private func measure(_ store: any JobStore) async throws {
            // 1. Enqueue only.
            let enqueueStart = ContinuousClock.now
            for index in 0..<self.count {
                _ = try await store.enqueue(NewJob(worker: "noop", input: "job \(index)", maxAttempts: 3), now: Date())
            }
            let enqueueTime = enqueueStart.duration(to: .now)
            print(BenchSupport.rate("enqueue (one transaction per job)", self.count, enqueueTime))

            // 2. Drain a full queue.
            let drain = try await BenchSupport.withPool(store: store, workers: self.workers) { pool in
                let start = ContinuousClock.now
                await pool.waitForSucceeded(self.count)
                return start.duration(to: .now)
            }
            print(BenchSupport.rate("drain: claim + complete of a full queue", self.count, drain))

            // 3. Enqueue and run concurrently: four producers, the pool consuming.
            let mixed = try await BenchSupport.withPool(store: store, workers: self.workers) { pool in
                let start = ContinuousClock.now
                try await withThrowingTaskGroup(of: Void.self) { group in
                    for producer in 0..<4 {
                        group.addTask {
                            for index in stride(from: producer, to: self.count, by: 4) {
                                _ = try await store.enqueue(
                                    NewJob(worker: "noop", input: "mixed \(index)", maxAttempts: 3),
                                    now: Date()
                                )
                                pool.signals.workAvailable()
                            }
                        }
                    }
                    try await group.waitForAll()
                }
                await pool.waitForSucceeded(self.count)
                return start.duration(to: .now)
            }
            print(BenchSupport.rate("end to end: enqueue + claim + complete, concurrently", self.count, mixed))

            // 4. Enqueue → start latency at a steady rate the pool keeps up with.
            let latencies = try await BenchSupport.withPool(store: store, workers: self.workers) { pool in
                let total = self.rate * self.seconds
                let interval = Duration.seconds(1) / self.rate
                let start = ContinuousClock.now
                for index in 0..<total {
                    try await ContinuousClock().sleep(until: start.advanced(by: interval * index), tolerance: nil)
                    let job = NewJob(worker: "noop", input: "latency \(index)", maxAttempts: 3)
                    pool.enqueuing(job.id, at: .now)
                    _ = try await store.enqueue(job, now: Date())
                    pool.signals.workAvailable()
                }
                await pool.waitForSucceeded(total)
                return pool.startLatencies()
            }
            print(
                "enqueue→start at \(self.rate) jobs/s for \(self.seconds) s: "
                    + BenchSupport.percentiles(latencies)
            )
        }
    }

    /// Crash → replacement serving, over many crashes.
    struct Recovery: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Crash → replacement worker running, p50/p99.")

        @Option(help: "Crashes to measure.")
        var crashes = 100

        func run() async throws {
            let directory = BenchSupport.temporaryDirectory()
            let store = try SQLiteJobStore(path: directory + "/" + SQLiteJobStore.fileName)
            let crashedAt = Mutex<ContinuousClock.Instant?>(nil)
            struct Crash: Error {}
            let executor = ScriptedTaskExecutor(workers: ["noop"], maxAttempts: 1) { _, input in
                if input == "crash" {
                    crashedAt.withLock { $0 = .now }
                    throw Crash()
                }
                return input
            }
            // One worker, so that each crash is followed by a success on the same slot: every crash is a
            // "first" crash, replaced at once (consecutive crashes back off on purpose).
            let latencies = try await BenchSupport.withPool(
                store: store,
                workers: 1,
                executor: executor,
                restartThreshold: self.crashes * 2 + 10
            ) { pool in
                var latencies: [Duration] = []
                for round in 0..<self.crashes {
                    _ = try await store.enqueue(NewJob(worker: "noop", input: "crash", maxAttempts: 1), now: Date())
                    pool.signals.workAvailable()
                    let startedAt = await pool.waitForWorkerStart(incarnation: round + 2)
                    if let crashedAt = crashedAt.withLock({ $0 }) {
                        latencies.append(crashedAt.duration(to: startedAt))
                    }
                    _ = try await store.enqueue(
                        NewJob(worker: "noop", input: "ok \(round)", maxAttempts: 1),
                        now: Date()
                    )
                    pool.signals.workAvailable()
                    await pool.waitForSucceeded(round + 1)
                }
                return latencies
            }
            print(
                "crash → replacement worker running, \(latencies.count) crashes: " + BenchSupport.percentiles(latencies)
            )
            try? FileManager.default.removeItem(atPath: directory)
        }
    }

    /// How long a worker that stops heartbeating takes to be declared hung, with the default settings.
    struct Hang: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Time from a worker's last heartbeat to its hang being detected (default settings)."
        )

        @Option(help: "Hangs to measure.")
        var hangs = 5

        func run() async throws {
            let defaults = WorkerPoolConfiguration()
            print(
                "defaults: heartbeat every \(defaults.heartbeatInterval.milliseconds) ms, hung after "
                    + "\(defaults.heartbeatTimeout.milliseconds) ms without one"
            )
            var detections: [Duration] = []
            for _ in 0..<self.hangs {
                let directory = BenchSupport.temporaryDirectory()
                let store = StallingHeartbeatStore(try SQLiteJobStore(path: directory + "/" + SQLiteJobStore.fileName))
                let executor = ScriptedTaskExecutor(workers: ["noop"], timeout: .seconds(600)) { _, _ in
                    while true { try await Task.sleep(for: .seconds(3600)) }
                }
                let detection = try await BenchSupport.withPool(store: store, workers: 1, executor: executor) { pool in
                    _ = try await store.enqueue(NewJob(worker: "noop", input: "stuck", maxAttempts: 1), now: Date())
                    pool.signals.workAvailable()
                    let started = await pool.waitForJobStart()
                    let hung = await pool.waitForHang()
                    return started.duration(to: hung)
                }
                store.releaseStalls()
                detections.append(detection)
                try? FileManager.default.removeItem(atPath: directory)
            }
            print(
                "job start (last heartbeat) → hang detected, \(detections.count) hangs: "
                    + BenchSupport.percentiles(detections)
            )
        }
    }
}

/// The pool as the benchmarks run it, with its events timestamped as they happen.
final class BenchPool: Sendable {
    let signals = JobQueueSignals()
    private let state = Mutex(State())

    private struct Waiter {
        var condition: @Sendable (State) -> Bool
        var continuation: CheckedContinuation<Void, Never>
    }

    private struct State {
        var succeeded = 0
        var enqueuedAt: [String: ContinuousClock.Instant] = [:]
        var startLatencies: [Duration] = []
        var workerStarts: [Int: ContinuousClock.Instant] = [:]
        var jobStarts: [ContinuousClock.Instant] = []
        var hangs: [ContinuousClock.Instant] = []
        var waiters: [Waiter] = []
    }

    func record(_ event: WorkerPoolEvent) {
        let now = ContinuousClock.now
        let ready = self.state.withLock { state -> [CheckedContinuation<Void, Never>] in
            switch event {
            case .jobFinished(_, _, .succeeded): state.succeeded += 1
            case .jobStarted(_, let id, _):
                state.jobStarts.append(now)
                if let enqueued = state.enqueuedAt.removeValue(forKey: id) {
                    state.startLatencies.append(enqueued.duration(to: now))
                }
            case .workerStarted(_, let incarnation): state.workerStarts[incarnation] = now
            case .workerHung: state.hangs.append(now)
            default: break
            }
            var ready: [CheckedContinuation<Void, Never>] = []
            let snapshot = state
            state.waiters.removeAll { waiter in
                guard waiter.condition(snapshot) else { return false }
                ready.append(waiter.continuation)
                return true
            }
            return ready
        }
        for continuation in ready { continuation.resume() }
    }

    /// Call before enqueueing `id`, so that a start seen before `enqueue` returns is still measured.
    func enqueuing(_ id: String, at instant: ContinuousClock.Instant) {
        self.state.withLock { $0.enqueuedAt[id] = instant }
    }

    func startLatencies() -> [Duration] { self.state.withLock { $0.startLatencies } }

    func waitForSucceeded(_ count: Int) async {
        await self.waitUntil { $0.succeeded >= count }
    }

    func waitForWorkerStart(incarnation: Int) async -> ContinuousClock.Instant {
        await self.waitUntil { $0.workerStarts[incarnation] != nil }
        return self.state.withLock { $0.workerStarts[incarnation]! }
    }

    func waitForJobStart() async -> ContinuousClock.Instant {
        await self.waitUntil { !$0.jobStarts.isEmpty }
        return self.state.withLock { $0.jobStarts[0] }
    }

    func waitForHang() async -> ContinuousClock.Instant {
        await self.waitUntil { !$0.hangs.isEmpty }
        return self.state.withLock { $0.hangs[0] }
    }

    private func waitUntil(_ condition: @escaping @Sendable (State) -> Bool) async {
        await withCheckedContinuation { continuation in
            let now = self.state.withLock { state -> Bool in
                if condition(state) { return true }
                state.waiters.append(Waiter(condition: condition, continuation: continuation))
                return false
            }
            if now { continuation.resume() }
        }
    }
}

enum BenchSupport {
    static let logger = Logger(label: "bench") { _ in SwiftLogNoOpLogHandler() }

    static func temporaryDirectory() -> String {
        let path = NSTemporaryDirectory() + "arcanos-bench-" + UUID().uuidString
        try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    /// Runs a pool on `store` for the duration of `body`, then shuts it down.
    static func withPool<T: Sendable>(
        store: any JobStore,
        workers: Int,
        executor: any WorkerTaskExecuting = ScriptedTaskExecutor(workers: ["noop"]) { _, input in input },
        restartThreshold: Int = 10,
        _ body: @Sendable (BenchPool) async throws -> T
    ) async throws -> T {
        let pool = BenchPool()
        let supervisor = WorkerSupervisor(
            configuration: WorkerPoolConfiguration(
                workerCount: workers,
                model: "bench",
                restart: .init(restartThreshold: restartThreshold)
            ),
            store: store,
            executor: executor,
            signals: pool.signals,
            clock: ContinuousClock(),
            logger: Self.logger,
            onEvent: { pool.record($0) }
        )
        let group = ServiceGroup(configuration: .init(services: [supervisor], logger: Self.logger))
        return try await withThrowingTaskGroup(of: T?.self) { tasks in
            tasks.addTask {
                try await group.run()
                return nil
            }
            let result = try await body(pool)
            await group.triggerGracefulShutdown()
            try await tasks.waitForAll()
            return result
        }
    }

    static func rate(_ name: String, _ count: Int, _ duration: Duration) -> String {
        let seconds = duration.seconds
        return "\(name): \(count) jobs in \(String(format: "%.2f", seconds)) s = "
            + "\(Int((Double(count) / seconds).rounded())) jobs/s"
    }

    static func percentiles(_ values: [Duration]) -> String {
        guard !values.isEmpty else { return "no samples" }
        let sorted = values.sorted()
        func at(_ p: Double) -> String {
            let index = min(sorted.count - 1, Int((p * Double(sorted.count)).rounded(.up)) - 1)
            return String(format: "%.2f ms", sorted[max(index, 0)].seconds * 1000)
        }
        return "n=\(sorted.count) p50 \(at(0.5)) p99 \(at(0.99)) max \(at(1.0))"
    }
}
