import ArcanosCore
import Foundation

/// The behaviour every `ClusterStore` must have: heartbeats register and refresh replicas, a lease goes to one
/// holder at a time, only its holder renews it, and it is free once it expires or is given up.
public struct ClusterStoreContract: Sendable {
    public enum Case: String, Sendable, CaseIterable, CustomStringConvertible {
        case heartbeatsRegisterAndRefreshReplicas
        case aLeaseGoesToOneHolderAndOnlyItsHolderRenewsIt
        case anExpiredLeaseIsTakenOver
        case aReleasedLeaseIsFreeAtOnce
        case concurrentAcquiresGrantOneHolder
        case oldReplicasAreForgotten
        case concurrentRestartsBeginOneTheOthersJoin
        case aRestartIsCurrentUntilFinishedOrExpired
        case outcomesAreRecordedOncePerReplica

        public var description: String { self.rawValue }
    }

    public let makeStore: @Sendable () async throws -> any ClusterStore

    public init(makeStore: @escaping @Sendable () async throws -> any ClusterStore) {
        self.makeStore = makeStore
    }

    static let t0 = Date(timeIntervalSince1970: 1_800_000_000)

    public func run(_ check: Case) async throws {
        let store = try await self.makeStore()
        switch check {
        case .heartbeatsRegisterAndRefreshReplicas: try await Self.heartbeats(store)
        case .aLeaseGoesToOneHolderAndOnlyItsHolderRenewsIt: try await Self.oneHolder(store)
        case .anExpiredLeaseIsTakenOver: try await Self.expiredTakenOver(store)
        case .aReleasedLeaseIsFreeAtOnce: try await Self.released(store)
        case .concurrentAcquiresGrantOneHolder: try await Self.concurrentAcquires(store)
        case .oldReplicasAreForgotten: try await Self.forgotten(store)
        case .concurrentRestartsBeginOneTheOthersJoin: try await Self.concurrentRestarts(store)
        case .aRestartIsCurrentUntilFinishedOrExpired: try await Self.currentRestart(store)
        case .outcomesAreRecordedOncePerReplica: try await Self.outcomes(store)
        }
    }

    private static func check(_ condition: Bool, _ message: String) throws {
        if !condition { throw ContractViolation(message) }
    }

    static func replica(_ id: String, startedAt: Date = Self.t0) -> ReplicaRecord {
        ReplicaRecord(id: id, address: "127.0.0.1:80\(id.count)", startedAt: startedAt, lastSeenAt: startedAt)
    }

    static func at(_ seconds: Double) -> Date { Self.t0.addingTimeInterval(seconds) }

    static func heartbeats(_ store: any ClusterStore) async throws {
        try Self.check(try await store.replicas().isEmpty, "a new store knows no replica")
        try await store.heartbeat(Self.replica("a"), now: Self.at(0))
        try await store.heartbeat(Self.replica("b", startedAt: Self.at(1)), now: Self.at(1))
        var withPool = Self.replica("a")
        withPool.pool = ReplicaPool(status: "Active", activeWorkers: 2, configuredCount: 4, startedAt: Self.at(3))
        try await store.heartbeat(withPool, now: Self.at(5))
        let replicas = try await store.replicas()
        try Self.check(replicas.map(\.id) == ["a", "b"], "both registered, oldest first: \(replicas)")
        try Self.check(replicas[0].lastSeenAt == Self.at(5), "a heartbeat refreshes lastSeenAt")
        try Self.check(replicas[0].startedAt == Self.t0, "and keeps startedAt")
        try Self.check(replicas[0].address == Self.replica("a").address, "and the address")
        try Self.check(replicas[0].pool == withPool.pool, "and reports the pool it was sent with")
        try Self.check(replicas[1].pool == nil, "a replica without a pool reports none")
    }

    static func oneHolder(_ store: any ClusterStore) async throws {
        try Self.check(
            try await store.acquireLease(.selfTest, holder: "a", until: Self.at(10), now: Self.at(0)),
            "free"
        )
        try Self.check(
            !(try await store.acquireLease(.selfTest, holder: "b", until: Self.at(15), now: Self.at(5))),
            "a live lease is not taken over"
        )
        try Self.check(
            try await store.acquireLease(.selfTest, holder: "a", until: Self.at(18), now: Self.at(8)),
            "its holder renews it"
        )
        try Self.check(
            !(try await store.acquireLease(.selfTest, holder: "b", until: Self.at(22), now: Self.at(12))),
            "renewed, it is still a's after its first end"
        )
        try Self.check(
            try await store.acquireLease(.watchdog, holder: "b", until: Self.at(22), now: Self.at(12)),
            "roles are leased apart"
        )
    }

    static func expiredTakenOver(_ store: any ClusterStore) async throws {
        _ = try await store.acquireLease(.retention, holder: "a", until: Self.at(10), now: Self.at(0))
        try Self.check(
            try await store.acquireLease(.retention, holder: "b", until: Self.at(20), now: Self.at(10)),
            "expired at its end, the lease goes to another"
        )
        try Self.check(
            !(try await store.acquireLease(.retention, holder: "a", until: Self.at(21), now: Self.at(11))),
            "the old holder cannot renew what it lost"
        )
    }

    static func released(_ store: any ClusterStore) async throws {
        _ = try await store.acquireLease(.watchdog, holder: "a", until: Self.at(10), now: Self.at(0))
        try await store.releaseLease(.watchdog, holder: "b")
        try Self.check(
            !(try await store.acquireLease(.watchdog, holder: "b", until: Self.at(11), now: Self.at(1))),
            "only the holder gives a lease up"
        )
        try await store.releaseLease(.watchdog, holder: "a")
        try Self.check(
            try await store.acquireLease(.watchdog, holder: "b", until: Self.at(12), now: Self.at(2)),
            "given up, it is free at once"
        )
    }

    static func concurrentAcquires(_ store: any ClusterStore) async throws {
        let granted = try await withThrowingTaskGroup(of: Bool.self) { group in
            for index in 0..<12 {
                group.addTask {
                    try await store.acquireLease(.selfTest, holder: "r\(index)", until: Self.at(10), now: Self.at(0))
                }
            }
            return try await group.reduce(0) { $0 + ($1 ? 1 : 0) }
        }
        try Self.check(granted == 1, "12 replicas asking at once: \(granted) granted, not 1")
    }

    static func restart(_ id: String, by replica: String = "a", at seconds: Double = 0) -> ClusterRestart {
        ClusterRestart(
            id: id,
            force: false,
            requestedBy: replica,
            requestedAt: Self.at(seconds),
            expiresAt: Self.at(seconds + 30)
        )
    }

    static func concurrentRestarts(_ store: any ClusterStore) async throws {
        let begun = try await withThrowingTaskGroup(of: String.self) { group in
            for index in 0..<8 {
                group.addTask {
                    try await store.beginRestart(Self.restart("r\(index)", by: "\(index)"), now: Self.at(0)).id
                }
            }
            return try await group.reduce(into: Set<String>()) { $0.insert($1) }
        }
        try Self.check(begun.count == 1, "8 heals at once share one restart: \(begun)")
    }

    static func currentRestart(_ store: any ClusterStore) async throws {
        try Self.check(try await store.currentRestart(now: Self.at(0)) == nil, "none at first")
        let first = try await store.beginRestart(Self.restart("one"), now: Self.at(0))
        try Self.check(first == Self.restart("one"), "the candidate begins when none runs")
        try Self.check(try await store.currentRestart(now: Self.at(1)) == first, "it is current")
        try await store.finishRestart("one")
        try Self.check(try await store.currentRestart(now: Self.at(2)) == nil, "finished, it is not")
        let second = try await store.beginRestart(Self.restart("two", at: 3), now: Self.at(3))
        try Self.check(second.id == "two", "after it, a heal begins a new one")
        try Self.check(try await store.currentRestart(now: Self.at(33)) == nil, "expired, it is not current")
        let third = try await store.beginRestart(Self.restart("three", at: 34), now: Self.at(34))
        try Self.check(third.id == "three", "an expired unfinished restart does not block a new one")
    }

    static func outcomes(_ store: any ClusterStore) async throws {
        _ = try await store.beginRestart(Self.restart("r"), now: Self.at(0))
        func outcome(_ replica: String, active: Int) -> ReplicaRestartOutcome {
            ReplicaRestartOutcome(
                replicaID: replica,
                restart: HealRestart(
                    started: true,
                    alreadyRunning: false,
                    runWorkers: true,
                    workerCount: 2,
                    workerIds: ["w1", "w2"],
                    model: "m",
                    startedAt: Self.at(1),
                    message: "started"
                ),
                verification: HealVerification(activeWorkers: active, configuredWorkers: 2, checkedAt: Self.at(1))
            )
        }
        try await store.recordRestartOutcome(outcome("b", active: 1), restartID: "r")
        try await store.recordRestartOutcome(outcome("a", active: 2), restartID: "r")
        try await store.recordRestartOutcome(outcome("b", active: 2), restartID: "r")
        let recorded = try await store.restartOutcomes("r")
        try Self.check(recorded == [outcome("a", active: 2), outcome("b", active: 2)], "one per replica: \(recorded)")
        try Self.check(try await store.restartOutcomes("other").isEmpty, "outcomes belong to their restart")
    }

    static func forgotten(_ store: any ClusterStore) async throws {
        try await store.heartbeat(Self.replica("old"), now: Self.at(0))
        try await store.heartbeat(Self.replica("new"), now: Self.at(100))
        try await store.heartbeat(Self.replica("leaving"), now: Self.at(100))
        try await store.forgetReplicas(lastSeenBefore: Self.at(50))
        try Self.check(
            try await store.replicas().map(\.id).sorted() == ["leaving", "new"],
            "the one last seen before the cutoff is gone"
        )
        try await store.leave("leaving")
        try Self.check(try await store.replicas().map(\.id) == ["new"], "a replica that left is gone")
    }
}
