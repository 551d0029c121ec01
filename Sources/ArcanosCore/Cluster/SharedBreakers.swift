import Foundation
import Logging
import ServiceLifecycle
import Synchronization

/// A model's breaker as the cluster shares it: one row per model, written by the replica whose breaker last
/// opened or closed on its own evidence.
public struct SharedBreakerState: Sendable, Hashable, Codable {
    public var model: String
    /// When the open breaker lets its next probe through; nil once a probe closed it.
    public var openUntil: Date?
    /// Probes failed since it last closed: the exponent of its next open time.
    public var failedProbes: Int
    /// The replica that wrote it.
    public var replicaID: String

    public init(model: String, openUntil: Date?, failedProbes: Int, replicaID: String) {
        self.model = model
        self.openUntil = openUntil
        self.failedProbes = failedProbes
        self.replicaID = replicaID
    }
}

/// Where the replicas' breakers meet (PostgreSQL: a row per model and `NOTIFY`; in memory for tests).
public protocol SharedBreakerStore: Sendable {
    /// Writes `state` as its model's row, gives up that model's probe lease, and tells every listener.
    func publish(_ state: SharedBreakerState) async throws

    /// Every model's row, for a replica catching up on what it missed.
    func breakerStates() async throws -> [SharedBreakerState]

    /// Takes `model`'s probe lease for `holder` until `until`, when it is free, expired at `now`, or already
    /// `holder`'s. Returns whether `holder` holds it: of replicas asking at once, one does.
    func acquireProbe(model: String, holder: String, until: Date, now: Date) async throws -> Bool

    /// Calls `changed` with every state published from the moment `ready` has been called, until the connection
    /// ends (throws) or the task is cancelled (returns).
    func listenForBreakers(
        ready: () async -> Void,
        changed: (SharedBreakerState) async -> Void
    ) async throws
}

/// This replica's breakers, kept in step with the cluster's (DESIGN §9): a breaker that opens or closes here on
/// its own evidence is published; one published elsewhere is adopted by every client here within the
/// notification's delay; and a half-open probe goes out only from the replica that holds the model's probe
/// lease. When the store cannot be reached each replica's own breakers decide alone, as without a cluster.
public final class SharedBreakers: Service, Sendable {
    public struct Configuration: Sendable, Hashable {
        public var replicaID: String
        /// How long a probe lease lasts: the longest a probe may take (`OPENAI_TIMEOUT_MS`). A replica that
        /// was refused the lease waits this long for the holder's outcome before it probes itself.
        public var probeLease: Duration
        /// The wait before each reconnection of the listener, growing while they fail.
        public var reconnect: Backoff

        public init(
            replicaID: String,
            probeLease: Duration,
            reconnect: Backoff = Backoff(initial: .milliseconds(100), maximum: .seconds(5))
        ) {
            self.replicaID = replicaID
            self.probeLease = probeLease
            self.reconnect = reconnect
        }
    }

    public let configuration: Configuration
    private let store: any SharedBreakerStore
    private let logger: Logger
    private let clients = Mutex<[ResilientLLMClient]>([])
    /// Whether the listener is connected: while it is not, the store is taken to be away and probe leases are
    /// not asked for, so a probe does not wait on a database that does not answer.
    private let listening = Atomic<Bool>(false)
    private let outbox: AsyncStream<SharedBreakerState>
    private let outboxContinuation: AsyncStream<SharedBreakerState>.Continuation

    public init(configuration: Configuration, store: any SharedBreakerStore, logger: Logger) {
        self.configuration = configuration
        self.store = store
        self.logger = logger
        (self.outbox, self.outboxContinuation) = AsyncStream.makeStream(bufferingPolicy: .unbounded)
    }

    /// Whether the listener is connected: this replica hears the others' breakers and asks for probe leases.
    public var isConnected: Bool { self.listening.load(ordering: .acquiring) }

    /// Called by `ResilientLLMClient.init`.
    func register(_ client: ResilientLLMClient) {
        self.clients.withLock { $0.append(client) }
    }

    /// A breaker here opened (`openUntil`) or closed (nil) on its own evidence. Sent in order, off the caller's
    /// path.
    func publish(model: String, openUntil: Date?, failedProbes: Int) {
        self.outboxContinuation.yield(
            SharedBreakerState(
                model: model,
                openUntil: openUntil,
                failedProbes: failedProbes,
                replicaID: self.configuration.replicaID
            )
        )
    }

    /// Whether this replica may send `model`'s half-open probe now: it holds the model's probe lease, or the
    /// store cannot say (then this replica's own breaker decides).
    func mayProbe(model: String, now: Date = Date()) async -> Bool {
        guard self.listening.load(ordering: .acquiring) else { return true }
        do {
            return try await self.store.acquireProbe(
                model: model,
                holder: self.configuration.replicaID,
                until: now.addingTimeInterval(self.configuration.probeLease.seconds),
                now: now
            )
        } catch {
            self.logger.debug(
                "probe lease unavailable: the local breaker decides",
                metadata: ["llm.model": "\(model)", "error": "\(error)"]
            )
            return true
        }
    }

    public func run() async {
        await cancelWhenGracefulShutdown {
            await withDiscardingTaskGroup { group in
                group.addTask { await self.sendPublished() }
                group.addTask { await self.listen() }
            }
        }
    }

    /// Writes what this replica's breakers did, in order. A write the store refuses is lost to the cluster
    /// (this replica's breaker still holds it); the next transition is written as usual.
    private func sendPublished() async {
        for await state in self.outbox {
            do {
                try await self.store.publish(state)
            } catch {
                self.logger.warning(
                    "could not share a breaker change",
                    metadata: ["llm.model": "\(state.model)", "error": "\(error)"]
                )
            }
        }
    }

    /// Adopts what other replicas publish, reconnecting with backoff; each (re)connection first adopts the
    /// breakers that opened meanwhile.
    private func listen() async {
        await self.configuration.reconnect.reconnecting(
            logger: self.logger,
            interrupted: "breaker notifications interrupted; reconnecting"
        ) { connected in
            defer { self.listening.store(false, ordering: .releasing) }
            try await self.store.listenForBreakers(
                ready: {
                    connected()
                    self.listening.store(true, ordering: .releasing)
                    await self.catchUp()
                },
                changed: { self.adopt($0) }
            )
        }
    }

    /// Only opens are caught up: a close missed meanwhile is found by this replica's own next probe.
    private func catchUp() async {
        do {
            let now = Date()
            for state in try await self.store.breakerStates() where (state.openUntil ?? now) > now {
                self.adopt(state)
            }
        } catch {
            self.logger.debug("could not read the shared breakers", metadata: ["error": "\(error)"])
        }
    }

    private func adopt(_ state: SharedBreakerState) {
        guard state.replicaID != self.configuration.replicaID else { return }
        for client in self.clients.withLock({ $0 }) { client.adopt(state) }
    }
}
