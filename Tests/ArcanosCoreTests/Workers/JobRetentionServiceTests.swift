import ArcanosCore
import ArcanosTesting
import Clocks
import Foundation
import Logging
import ServiceLifecycle
import ServiceLifecycleTestKit
import Synchronization
import Testing

@Suite(.timeLimit(.minutes(1))) struct JobRetentionServiceTests {
    let logger = Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() })
    let t0 = Date(timeIntervalSince1970: 1_800_000_000)

    /// Enqueues, claims and completes `id` at `at`.
    func finish(_ id: String, at: Date, in store: InMemoryJobStore) async throws {
        _ = try await store.enqueue(NewJob(id: id, worker: "echo", input: "x", maxAttempts: 1), now: at)
        let lease = try #require(try await store.claim(owner: "w", leaseDuration: .seconds(10), now: at))
        _ = try await store.complete(lease, result: "done", now: at)
    }

    @Test func sweepsAtStartThenEveryIntervalDeletingOnlyJobsPastTheRetention() async throws {
        let store = InMemoryJobStore()
        let clock = TestClock()
        let now = Mutex(self.t0.addingTimeInterval(3600))
        try await self.finish("old", at: self.t0, in: store)
        try await self.finish("recent", at: self.t0.addingTimeInterval(3000), in: store)
        _ = try await store.enqueue(NewJob(id: "waiting", worker: "echo", input: "x", maxAttempts: 1), now: self.t0)
        let service = JobRetentionService(
            store: store,
            retention: .seconds(1800),
            clock: clock,
            now: { now.withLock { $0 } },
            logger: self.logger
        )
        try await testGracefulShutdown { trigger in
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { try await service.run() }
                // The first sweep runs at start; the service then sleeps.
                await clock.waitForSleeper()
                #expect(try await store.job(id: "old") == nil)
                #expect(try await store.job(id: "recent") != nil)

                // Half an hour later "recent" is past the retention too; the queued job stays, however old.
                now.withLock { $0 = $0.addingTimeInterval(1800) }
                await clock.advance(by: .seconds(1800))
                await clock.waitForSleeper()
                #expect(try await store.job(id: "recent") == nil)
                #expect(try await store.job(id: "waiting")?.status == .queued)

                trigger.triggerGracefulShutdown()
                try await group.waitForAll()
            }
        }
    }

    @Test func sweepsHourlyOrAsOftenAsAShorterRetention() {
        typealias Service = JobRetentionService<ContinuousClock>
        #expect(Service.sweepInterval(retention: .seconds(7 * 86_400)) == .seconds(3600))
        #expect(Service.sweepInterval(retention: .seconds(60)) == .seconds(60))
    }

    @Test func withoutARetentionItKeepsEverythingAndStopsWithTheGroup() async throws {
        let store = InMemoryJobStore()
        try await self.finish("old", at: self.t0, in: store)
        let service = JobRetentionService(store: store, retention: nil, clock: TestClock(), logger: self.logger)
        try await testGracefulShutdown { trigger in
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { try await service.run() }
                trigger.triggerGracefulShutdown()
                try await group.waitForAll()
            }
        }
        #expect(try await store.job(id: "old") != nil)
    }
}
