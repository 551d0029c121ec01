import Foundation
import Logging
import ServiceLifecycle

/// This replica's part in the cluster: it registers, heartbeats every `timeout / 5`, and at each beat takes or
/// renews the lease of every singleton role it can (held for `timeout`), telling `leadership` what it holds.
/// A beat that fails loses every role at once. On graceful shutdown it gives its leases up, so another
/// replica takes over at its next beat instead of waiting out the lease.
public struct ClusterService<C: Clock>: Service where C.Duration == Duration {
    public struct Configuration: Sendable, Hashable {
        /// A replica not heard from for this long is dead, and a lease not renewed for this long is free
        /// (`ARCANOS_REPLICA_TIMEOUT_MS`).
        public var timeout: Duration
        /// Dead replicas are forgotten after this long.
        public var forgetAfter: Duration

        public init(timeout: Duration = .seconds(10), forgetAfter: Duration = .seconds(3600)) {
            self.timeout = timeout
            self.forgetAfter = forgetAfter
        }

        public var beatInterval: Duration { self.timeout / 5 }
    }

    public let configuration: Configuration
    public let replica: ReplicaRecord
    public let store: any ClusterStore
    public let leadership: Leadership
    private let clock: C
    private let now: @Sendable () -> Date
    private let logger: Logger
    /// This replica's pool, reported with each heartbeat.
    private let pool: @Sendable (Date) -> ReplicaPool?
    /// Runs this replica's part of a cluster restart another replica began (once per restart, however often
    /// it is called).
    private let runRestart: @Sendable (ClusterRestart) async -> Void

    public init(
        configuration: Configuration,
        replica: ReplicaRecord,
        store: any ClusterStore,
        leadership: Leadership,
        clock: C,
        logger: Logger,
        pool: @escaping @Sendable (Date) -> ReplicaPool? = { _ in nil },
        runRestart: @escaping @Sendable (ClusterRestart) async -> Void = { _ in },
        now: @escaping @Sendable () -> Date = { Date() }
    ) {
        self.pool = pool
        self.runRestart = runRestart
        self.configuration = configuration
        self.replica = replica
        self.store = store
        self.leadership = leadership
        self.clock = clock
        self.logger = logger
        self.now = now
    }

    public func run() async throws {
        self.logger.info("joined the cluster", metadata: ["replica.id": "\(self.replica.id)"])
        var failing = false
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            // An outage is logged when it starts and when it ends, not at every beat.
            let beaten = await self.beat(quietly: failing)
            if beaten && failing { self.logger.notice("cluster heartbeat resumed") }
            failing = !beaten
            do {
                try await cancelWhenGracefulShutdown {
                    try await self.clock.sleep(for: self.configuration.beatInterval)
                }
            } catch {
                break
            }
        }
        // Cancelled (not shut down), the leases are left to run out, as a crashed replica's are.
        guard Task.isShuttingDownGracefully else { return }
        for role in SingletonRole.allCases where self.leadership.holds(role, now: self.now()) {
            self.leadership.lost(role)
            try? await self.store.releaseLease(role, holder: self.replica.id)
        }
        try? await self.store.leave(self.replica.id)
    }

    /// One heartbeat and one round of leases (what the loop does every `beatInterval`); false when the store
    /// could not be reached. `quietly` logs that failure at debug level (the outage was already reported).
    @discardableResult
    public func beat(quietly: Bool = false) async -> Bool {
        let now = self.now()
        do {
            var replica = self.replica
            replica.pool = self.pool(now)
            try await self.store.heartbeat(replica, now: now)
            let until = now.addingTimeInterval(self.configuration.timeout.seconds)
            for role in SingletonRole.allCases {
                let held = self.leadership.holds(role, now: now)
                if try await self.store.acquireLease(role, holder: self.replica.id, until: until, now: now) {
                    self.leadership.granted(role, until: until)
                    if !held { self.logger.notice("leading", metadata: ["cluster.role": "\(role.rawValue)"]) }
                } else {
                    self.leadership.lost(role)
                    if held { self.logger.notice("lost the lead", metadata: ["cluster.role": "\(role.rawValue)"]) }
                }
            }
            if let restart = try await self.store.currentRestart(now: now) {
                await self.runRestart(restart)
            }
            try await self.store.forgetReplicas(
                lastSeenBefore: now.addingTimeInterval(-self.configuration.forgetAfter.seconds)
            )
            return true
        } catch {
            for role in SingletonRole.allCases { self.leadership.lost(role) }
            self.logger.log(
                level: quietly ? .debug : .warning,
                "cluster heartbeat failed: no singleton work until the database answers",
                metadata: ["error": "\(error)"]
            )
            return false
        }
    }
}
