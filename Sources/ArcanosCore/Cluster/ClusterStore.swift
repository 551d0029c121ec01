import Foundation

/// Where the replicas of one deployment find each other (DESIGN §9): each registers and heartbeats, and the
/// singleton work (the self-test, the watchdog, the retention sweep) goes to one live replica at a time,
/// under a lease only its holder renews. PostgreSQL in production; in memory for tests. A server without a
/// shared database has no cluster store and does all of its singleton work itself.
public protocol ClusterStore: Sendable {
    /// Registers `replica`, or records that it is still alive: its `lastSeenAt` becomes `now`.
    func heartbeat(_ replica: ReplicaRecord, now: Date) async throws

    /// Every replica that ever registered and has not been forgotten, alive or not.
    func replicas() async throws -> [ReplicaRecord]

    /// Takes `role`'s lease for `holder` until `until`, or renews it, when it is free, expired at `now`, or
    /// already `holder`'s. Returns whether `holder` holds it now. A lease held by another live holder is never
    /// taken over, so two holders never overlap while their clocks agree.
    func acquireLease(_ role: SingletonRole, holder: String, until: Date, now: Date) async throws -> Bool

    /// Gives `role`'s lease up if `holder` has it, so another replica can take it at once.
    func releaseLease(_ role: SingletonRole, holder: String) async throws

    /// Removes `replicaID`: a replica shutting down leaves, so only the ones that died show as dead.
    func leave(_ replicaID: String) async throws

    /// Begins `candidate`, unless a restart is unfinished and not expired at `now`: then returns that one, which
    /// the caller joins. Of concurrent calls, one begins and the others join it.
    func beginRestart(_ candidate: ClusterRestart, now: Date) async throws -> ClusterRestart

    /// The unfinished, unexpired restart at `now`, if any: what each replica's heartbeat looks for.
    func currentRestart(now: Date) async throws -> ClusterRestart?

    /// Records one replica's part of restart `restartID` (once per replica; a second record replaces it).
    func recordRestartOutcome(_ outcome: ReplicaRestartOutcome, restartID: String) async throws

    /// Every replica's recorded part of restart `restartID`.
    func restartOutcomes(_ restartID: String) async throws -> [ReplicaRestartOutcome]

    /// Marks restart `restartID` finished: heals from now on begin a new one.
    func finishRestart(_ restartID: String) async throws

    /// Forgets replicas last seen before `cutoff`.
    func forgetReplicas(lastSeenBefore cutoff: Date) async throws
}

/// A replica as the cluster knows it.
public struct ReplicaRecord: Sendable, Hashable, Codable {
    /// Random, for the replica's life: a restarted process is a new replica.
    public var id: String
    /// `host:port` its HTTP server listens on (shown only in the detail view).
    public var address: String
    public var startedAt: Date
    public var lastSeenAt: Date
    /// Its worker pool at its last heartbeat.
    public var pool: ReplicaPool?

    public init(id: String, address: String, startedAt: Date, lastSeenAt: Date, pool: ReplicaPool? = nil) {
        self.id = id
        self.address = address
        self.startedAt = startedAt
        self.lastSeenAt = lastSeenAt
        self.pool = pool
    }

    /// A new replica id: 64 random bits as 16 hex digits.
    public static func newID() -> String {
        var generator = SystemRandomNumberGenerator()
        return String(generator.randomHex128().prefix(16))
    }

    /// Alive while its last heartbeat is younger than `timeout`.
    public func isAlive(now: Date, timeout: Duration) -> Bool {
        now.timeIntervalSince(self.lastSeenAt) < timeout.seconds
    }
}

/// A replica's worker pool as it reports it with each heartbeat.
public struct ReplicaPool: Sendable, Hashable, Codable {
    /// `Active`, `Pending` or `Disabled`, as `arcanosWorkers.status`.
    public var status: String
    public var activeWorkers: Int
    public var configuredCount: Int
    /// When the pool last (re)started.
    public var startedAt: Date?

    public init(status: String, activeWorkers: Int, configuredCount: Int, startedAt: Date?) {
        self.status = status
        self.activeWorkers = activeWorkers
        self.configuredCount = configuredCount
        self.startedAt = startedAt
    }

    public init(_ runtime: WorkerRuntimeStatus) {
        self.init(
            status: Self.status(of: runtime),
            activeWorkers: runtime.activeListeners,
            configuredCount: runtime.configuredCount,
            startedAt: runtime.startedAt
        )
    }

    /// `Disabled` (`RUN_WORKERS=false`), `Active` once started with a listener, `Pending` before.
    public static func status(of runtime: WorkerRuntimeStatus) -> String {
        if !runtime.enabled { return "Disabled" }
        return runtime.started && runtime.activeListeners > 0 ? "Active" : "Pending"
    }
}

/// Work exactly one live replica does.
public enum SingletonRole: String, Sendable, Hashable, CaseIterable, Codable {
    case selfTest = "self-test"
    case watchdog
    case retention
}
