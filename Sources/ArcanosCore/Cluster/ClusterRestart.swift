import Foundation

/// A restart of every live replica's pool, asked by one heal: the replica that took the heal begins it, every
/// other replica runs its part at its next heartbeat, each verifies its own pool and records its outcome.
/// While one is unfinished (and not past `expiresAt`), a heal on any replica joins it instead of beginning
/// another: concurrent heals on several replicas share one restart.
public struct ClusterRestart: Sendable, Hashable, Codable {
    public var id: String
    /// Whether the storm guard forgets the storm (a forced heal).
    public var force: Bool
    /// The replica whose heal began it.
    public var requestedBy: String
    public var requestedAt: Date
    /// After this a new heal begins a new restart, finished or not (its beginner may have died).
    public var expiresAt: Date

    public init(id: String, force: Bool, requestedBy: String, requestedAt: Date, expiresAt: Date) {
        self.id = id
        self.force = force
        self.requestedBy = requestedBy
        self.requestedAt = requestedAt
        self.expiresAt = expiresAt
    }
}

/// One replica's part of a `ClusterRestart`.
public struct ReplicaRestartOutcome: Sendable, Hashable, Codable {
    public var replicaID: String
    public var restart: HealRestart
    public var verification: HealVerification
    /// How long this replica's verification took, in milliseconds (`"12.5"`, as the heal's own `verifyMs`).
    public var verifyMs: String?

    public init(replicaID: String, restart: HealRestart, verification: HealVerification, verifyMs: String? = nil) {
        self.replicaID = replicaID
        self.restart = restart
        self.verification = verification
        self.verifyMs = verifyMs
    }
}
