import ArcanosCore
import ArcanosTesting
import Foundation
import Logging
import Testing

/// Replicas in one process, each with its own client and `SharedBreakers`, meeting in one store.
@Suite(.timeLimit(.minutes(1))) struct SharedBreakersTests {
    @Test(arguments: SharedBreakerStoreContract.Case.allCases)
    func inMemoryStoreKeepsTheContract(_ check: SharedBreakerStoreContract.Case) async throws {
        try await SharedBreakerStoreContract { InMemoryBreakerStore() }.run(check)
    }

    struct Replica: Sendable {
        let shared: SharedBreakers
        let client: ResilientLLMClient
        let provider: ScriptedLLMProvider
    }

    static let logger = Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() })
    static let request = LLMRequest(messages: [.user("hello")])

    static func replica(
        _ id: String,
        store: any SharedBreakerStore,
        provider: ScriptedLLMProvider,
        open: Duration
    ) -> Replica {
        let shared = SharedBreakers(
            configuration: .init(replicaID: id, probeLease: .seconds(5)),
            store: store,
            logger: Self.logger
        )
        let client = ResilientLLMClient(
            provider: provider,
            configuration: .init(
                models: ["m"],
                callTimeout: .seconds(5),
                retry: .init(maxAttempts: 1),
                breaker: .init(failureThreshold: 1, openDuration: open, maximumOpenDuration: open, jitter: 0)
            ),
            logger: Self.logger,
            shared: shared
        )
        return Replica(shared: shared, client: client, provider: provider)
    }

    /// Runs every replica's `SharedBreakers` while `body` runs; `connected` waits for their listeners.
    static func running(
        _ replicas: [Replica],
        connected: Bool = true,
        _ body: () async throws -> Void
    ) async throws {
        try await withThrowingTaskGroup(of: Void.self) { group in
            for replica in replicas { group.addTask { await replica.shared.run() } }
            if connected {
                try await Condition.wait("every replica listens", within: .seconds(5)) {
                    replicas.allSatisfy(\.shared.isConnected)
                }
            }
            try await body()
            group.cancelAll()
        }
    }

    static func phase(_ replica: Replica) -> CircuitBreakerStateMachine<ContinuousClock.Instant>.Phase? {
        replica.client.report().models.first?.breaker
    }

    @Test func aBreakerOpenedOnOneReplicaRejectsOnTheOthersWithoutCallingTheModel() async throws {
        let store = InMemoryBreakerStore()
        let failing = ScriptedLLMProvider(whenEmpty: .fail(LLMFailure(.serverError, statusCode: 500)))
        let a = Self.replica("a", store: store, provider: failing, open: .seconds(60))
        let b = Self.replica("b", store: store, provider: ScriptedLLMProvider(), open: .seconds(60))
        let c = Self.replica("c", store: store, provider: ScriptedLLMProvider(), open: .seconds(60))
        try await Self.running([a, b, c]) {
            await #expect(throws: ArcanosError.self) { try await a.client.complete(Self.request) }
            #expect(Self.phase(a) == .open)
            try await Condition.wait("b and c adopt a's open breaker", within: .seconds(1), every: .milliseconds(5)) {
                Self.phase(b) == .open && Self.phase(c) == .open
            }
            if case .circuitOpen(let retryAfter) = b.client.availability() {
                #expect(retryAfter > .seconds(50), "b waits out a's open time: \(retryAfter)")
            } else {
                Issue.record("b's breaker does not reject")
            }
            let error = await #expect(throws: ArcanosError.self) { try await b.client.complete(Self.request) }
            #expect(error?.code == .circuitOpen)
            #expect(b.provider.requests.isEmpty, "b never called the model")
            #expect(try await store.breakerStates().first?.replicaID == "a", "only a's own opening is published")
        }
    }

    @Test func oneProbeClosesTheBreakerOnEveryReplica() async throws {
        let store = InMemoryBreakerStore()
        let a = Self.replica(
            "a",
            store: store,
            provider: ScriptedLLMProvider([.fail(LLMFailure(.serverError, statusCode: 500))]),
            open: .milliseconds(200)
        )
        let b = Self.replica("b", store: store, provider: ScriptedLLMProvider(), open: .milliseconds(200))
        let c = Self.replica("c", store: store, provider: ScriptedLLMProvider(), open: .milliseconds(200))
        let replicas = [a, b, c]
        try await Self.running(replicas) {
            await #expect(throws: ArcanosError.self) { try await a.client.complete(Self.request) }
            try await Condition.wait("every replica is open", within: .seconds(1), every: .milliseconds(5)) {
                replicas.allSatisfy { Self.phase($0) == .open }
            }
            // The open time is up on all three at once; each one's prober would probe now.
            try await Condition.wait("a probe is due everywhere", within: .seconds(2), every: .milliseconds(5)) {
                replicas.allSatisfy { $0.client.nextProbe().map { $0 <= .now } ?? false }
            }
            await withDiscardingTaskGroup { group in
                for replica in replicas { group.addTask { await replica.client.probeDueModels() } }
            }
            let probes = replicas.map { $0.provider.requests.count }.reduce(0, +) - 1
            #expect(probes == 1, "one probe in the cluster")
            try await Condition.wait("its answer closes every breaker", within: .seconds(1), every: .milliseconds(5)) {
                replicas.allSatisfy { Self.phase($0) == .closed }
            }
            #expect(try await store.breakerStates().first?.openUntil == nil)
        }
    }

    @Test func aReplicaThatWasDisconnectedAdoptsWhatOpenedMeanwhileWhenItReconnects() async throws {
        let store = InMemoryBreakerStore()
        let failing = ScriptedLLMProvider(whenEmpty: .fail(LLMFailure(.serverError, statusCode: 500)))
        let a = Self.replica("a", store: store, provider: failing, open: .seconds(60))
        let b = Self.replica("b", store: store, provider: ScriptedLLMProvider(), open: .seconds(60))
        try await Self.running([a, b]) {
            store.disconnectListeners(refusing: true)
            try await Condition.wait("b lost its listener", within: .seconds(5), every: .milliseconds(5)) {
                !b.shared.isConnected
            }
            await #expect(throws: ArcanosError.self) { try await a.client.complete(Self.request) }
            try await Condition.wait("a's opening is stored", within: .seconds(5), every: .milliseconds(5)) {
                try await store.breakerStates().first?.openUntil != nil
            }
            #expect(Self.phase(b) == .closed, "b heard nothing while disconnected")
            store.acceptListeners()
            try await Condition.wait("b catches up on reconnecting", within: .seconds(5), every: .milliseconds(5)) {
                Self.phase(b) == .open
            }
            #expect(b.provider.requests.isEmpty)
        }
    }

    /// A store that never answers: the database is away.
    struct UnreachableStore: SharedBreakerStore {
        struct Unreachable: Error {}
        func publish(_ state: SharedBreakerState) async throws { throw Unreachable() }
        func breakerStates() async throws -> [SharedBreakerState] { throw Unreachable() }
        func acquireProbe(model: String, holder: String, until: Date, now: Date) async throws -> Bool {
            throw Unreachable()
        }
        func listenForBreakers(
            ready: () async -> Void,
            changed: (SharedBreakerState) async -> Void
        ) async throws { throw Unreachable() }
    }

    @Test func withoutTheStoreEachReplicaKeepsItsOwnBreaker() async throws {
        let a = Self.replica(
            "a",
            store: UnreachableStore(),
            provider: ScriptedLLMProvider([.fail(LLMFailure(.serverError, statusCode: 500))]),
            open: .milliseconds(100)
        )
        try await Self.running([a], connected: false) {
            await #expect(throws: ArcanosError.self) { try await a.client.complete(Self.request) }
            #expect(Self.phase(a) == .open)
            let error = await #expect(throws: ArcanosError.self) { try await a.client.complete(Self.request) }
            #expect(error?.code == .circuitOpen, "its own breaker still rejects")
            try await Condition.wait("the probe is due", within: .seconds(2), every: .milliseconds(5)) {
                a.client.nextProbe().map { $0 <= .now } ?? false
            }
            await a.client.probeDueModels()
            #expect(a.provider.requests.count == 2, "the probe went out without a lease")
            #expect(Self.phase(a) == .closed)
        }
    }
}
