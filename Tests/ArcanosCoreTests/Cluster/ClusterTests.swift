import ArcanosCore
import ArcanosTesting
import Foundation
import Logging
import Synchronization
import Testing

@Suite struct ClusterTests {
    static let t0 = Date(timeIntervalSince1970: 1_800_000_000)
    let logger = Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() })

    @Test(arguments: ClusterStoreContract.Case.allCases)
    func inMemoryStoreKeepsTheContract(_ check: ClusterStoreContract.Case) async throws {
        try await ClusterStoreContract { InMemoryClusterStore() }.run(check)
    }

    final class ManualClock: Sendable {
        let now = Mutex(ClusterTests.t0)
        func advance(by seconds: TimeInterval) { self.now.withLock { $0 = $0.addingTimeInterval(seconds) } }
        var date: Date { self.now.withLock { $0 } }
    }

    func member(_ id: String, store: any ClusterStore, clock: ManualClock) -> ClusterService<ContinuousClock> {
        ClusterService(
            configuration: .init(timeout: .seconds(10)),
            replica: ReplicaRecord(id: id, address: "127.0.0.1:1", startedAt: Self.t0, lastSeenAt: Self.t0),
            store: store,
            leadership: Leadership(),
            clock: ContinuousClock(),
            logger: self.logger,
            now: { clock.date }
        )
    }

    @Test func oneReplicaLeadsEachRoleAndAnotherTakesOverOnceItsLeaseRunsOut() async throws {
        let store = InMemoryClusterStore()
        let clock = ManualClock()
        let a = self.member("a", store: store, clock: clock)
        let b = self.member("b", store: store, clock: clock)
        await a.beat()
        await b.beat()
        #expect(a.leadership.roles(now: clock.date) == SingletonRole.allCases)
        #expect(b.leadership.roles(now: clock.date).isEmpty)
        // a stops beating (killed): b takes over only once a's lease has run out.
        clock.advance(by: 9)
        await b.beat()
        #expect(b.leadership.roles(now: clock.date).isEmpty, "a's lease still runs")
        #expect(!a.leadership.holds(.selfTest, now: clock.date), "a stops trusting its lease before it ends")
        clock.advance(by: 1)
        await b.beat()
        #expect(b.leadership.roles(now: clock.date) == SingletonRole.allCases)
        // a comes back: it cannot renew what b holds.
        await a.beat()
        #expect(a.leadership.roles(now: clock.date).isEmpty)
        #expect(try await store.replicas().map(\.id) == ["a", "b"])
    }

    /// A store whose every call fails, as a database that went away.
    final class UnreachableStore: ClusterStore {
        func heartbeat(_ replica: ReplicaRecord, now: Date) async throws { throw Self.away }
        func replicas() async throws -> [ReplicaRecord] { throw Self.away }
        func acquireLease(_ role: SingletonRole, holder: String, until: Date, now: Date) async throws -> Bool {
            throw Self.away
        }
        func releaseLease(_ role: SingletonRole, holder: String) async throws { throw Self.away }
        func forgetReplicas(lastSeenBefore cutoff: Date) async throws { throw Self.away }
        func leave(_ replicaID: String) async throws { throw Self.away }
        func beginRestart(_ candidate: ClusterRestart, now: Date) async throws -> ClusterRestart { throw Self.away }
        func currentRestart(now: Date) async throws -> ClusterRestart? { throw Self.away }
        func recordRestartOutcome(_ outcome: ReplicaRestartOutcome, restartID: String) async throws {
            throw Self.away
        }
        func restartOutcomes(_ restartID: String) async throws -> [ReplicaRestartOutcome] { throw Self.away }
        func finishRestart(_ restartID: String) async throws { throw Self.away }
        static let away = ArcanosError(.storeUnavailable, "away")
    }

    @Test func aReplicaThatCannotReachTheDatabaseDoesNoSingletonWork() async throws {
        let clock = ManualClock()
        let leadership = Leadership()
        leadership.granted(.watchdog, until: clock.date.addingTimeInterval(10))
        let member = ClusterService(
            configuration: .init(timeout: .seconds(10)),
            replica: ReplicaRecord(id: "a", address: "127.0.0.1:1", startedAt: Self.t0, lastSeenAt: Self.t0),
            store: UnreachableStore(),
            leadership: leadership,
            clock: ContinuousClock(),
            logger: self.logger,
            now: { clock.date }
        )
        #expect(SingletonGate.cluster(leadership).mayAct(.watchdog, now: clock.date))
        await member.beat()
        #expect(!SingletonGate.cluster(leadership).mayAct(.watchdog, now: clock.date))
        #expect(SingletonGate.alone.mayAct(.watchdog, now: clock.date))
    }
}
