import ArcanosCore
import Foundation

/// The behaviour every `SharedBreakerStore` must have: the last publication per model is read back and heard
/// by every listener in order; a model's probe lease goes to one holder at a time until it expires, and a
/// publication gives it up.
public struct SharedBreakerStoreContract: Sendable {
    public enum Case: String, Sendable, CaseIterable, CustomStringConvertible {
        case theLastPublicationPerModelIsReadBack
        case listenersHearEveryPublicationInOrder
        case aProbeLeaseGoesToOneHolderUntilItExpires
        case aPublicationGivesTheProbeLeaseUp
        case concurrentProbeRequestsGrantOne

        public var description: String { self.rawValue }
    }

    public let makeStore: @Sendable () async throws -> any SharedBreakerStore

    public init(makeStore: @escaping @Sendable () async throws -> any SharedBreakerStore) {
        self.makeStore = makeStore
    }

    static let t0 = Date(timeIntervalSince1970: 1_800_000_000)

    static func at(_ seconds: Double) -> Date { Self.t0.addingTimeInterval(seconds) }

    public func run(_ check: Case) async throws {
        let store = try await self.makeStore()
        switch check {
        case .theLastPublicationPerModelIsReadBack: try await Self.readBack(store)
        case .listenersHearEveryPublicationInOrder: try await Self.listeners(store)
        case .aProbeLeaseGoesToOneHolderUntilItExpires: try await Self.probeLease(store)
        case .aPublicationGivesTheProbeLeaseUp: try await Self.publicationReleases(store)
        case .concurrentProbeRequestsGrantOne: try await Self.concurrentProbes(store)
        }
    }

    private static func check(_ condition: Bool, _ message: String) throws {
        if !condition { throw ContractViolation(message) }
    }

    static func open(_ model: String, until: Date, probes: Int = 0, by replica: String = "a") -> SharedBreakerState {
        SharedBreakerState(model: model, openUntil: until, failedProbes: probes, replicaID: replica)
    }

    static func closed(_ model: String, by replica: String = "a") -> SharedBreakerState {
        SharedBreakerState(model: model, openUntil: nil, failedProbes: 0, replicaID: replica)
    }

    static func readBack(_ store: any SharedBreakerStore) async throws {
        try Self.check(try await store.breakerStates().isEmpty, "a new store has no breakers")
        try await store.publish(Self.open("m1", until: Self.at(10)))
        try await store.publish(Self.open("m2", until: Self.at(20), probes: 2, by: "b"))
        try await store.publish(Self.closed("m1", by: "c"))
        let states = try await store.breakerStates()
        try Self.check(
            states == [Self.closed("m1", by: "c"), Self.open("m2", until: Self.at(20), probes: 2, by: "b")],
            "the last publication of each model, by model: \(states)"
        )
    }

    static func listeners(_ store: any SharedBreakerStore) async throws {
        let (readiness, ready) = AsyncStream.makeStream(of: Void.self)
        let (heard, hear) = AsyncStream.makeStream(of: SharedBreakerState.self)
        let listener = Task {
            try await store.listenForBreakers(ready: { ready.yield() }) { hear.yield($0) }
        }
        defer { listener.cancel() }
        var readyIterator = readiness.makeAsyncIterator()
        _ = await readyIterator.next()
        let published = [Self.open("m1", until: Self.at(10)), Self.closed("m1", by: "b")]
        for state in published { try await store.publish(state) }
        var received: [SharedBreakerState] = []
        for await state in heard {
            received.append(state)
            if received.count == published.count { break }
        }
        try Self.check(received == published, "a listener hears each publication, in order: \(received)")
    }

    static func probeLease(_ store: any SharedBreakerStore) async throws {
        try Self.check(
            try await store.acquireProbe(model: "m", holder: "a", until: Self.at(10), now: Self.at(0)),
            "a model no replica published yet has a free lease"
        )
        try Self.check(
            !(try await store.acquireProbe(model: "m", holder: "b", until: Self.at(15), now: Self.at(5))),
            "a live lease is not taken over"
        )
        try Self.check(
            try await store.acquireProbe(model: "m", holder: "a", until: Self.at(12), now: Self.at(6)),
            "its holder may take it again"
        )
        try Self.check(
            try await store.acquireProbe(model: "other", holder: "b", until: Self.at(15), now: Self.at(6)),
            "models are leased apart"
        )
        try Self.check(
            try await store.acquireProbe(model: "m", holder: "b", until: Self.at(22), now: Self.at(12)),
            "expired at its end, it goes to another"
        )
        let states = try await store.breakerStates()
        try Self.check(
            states.allSatisfy { $0.openUntil == nil },
            "a lease alone does not open a breaker: \(states)"
        )
    }

    static func publicationReleases(_ store: any SharedBreakerStore) async throws {
        try await store.publish(Self.open("m", until: Self.at(5)))
        _ = try await store.acquireProbe(model: "m", holder: "a", until: Self.at(20), now: Self.at(5))
        try await store.publish(Self.open("m", until: Self.at(10), probes: 1))
        try Self.check(
            try await store.acquireProbe(model: "m", holder: "b", until: Self.at(25), now: Self.at(10)),
            "the probe's outcome, published, frees the lease for the next probe"
        )
        let states = try await store.breakerStates()
        try Self.check(states == [Self.open("m", until: Self.at(10), probes: 1)], "a lease keeps the state: \(states)")
    }

    static func concurrentProbes(_ store: any SharedBreakerStore) async throws {
        try await store.publish(Self.open("m", until: Self.at(0)))
        let granted = try await withThrowingTaskGroup(of: Bool.self) { group in
            for holder in ["a", "b", "c", "d", "e"] {
                group.addTask {
                    try await store.acquireProbe(model: "m", holder: holder, until: Self.at(10), now: Self.at(1))
                }
            }
            return try await group.reduce(0) { $0 + ($1 ? 1 : 0) }
        }
        try Self.check(granted == 1, "of five replicas asking at once, one probes: \(granted)")
    }
}
