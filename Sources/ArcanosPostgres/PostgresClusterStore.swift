import ArcanosCore
import Foundation
import Logging
import PostgresNIO

/// Membership and singleton leases in PostgreSQL. A lease is one row per role, taken or renewed by one
/// conditional upsert, so of replicas asking at once exactly one gets it, and a holder's renewal is refused
/// once another took the expired lease over (River's leader table, renewed only by its holder).
public final class PostgresClusterStore: ClusterStore {
    let database: PostgresDatabaseService
    let logger: Logger

    public init(database: PostgresDatabaseService, logger: Logger) {
        self.database = database
        self.logger = logger
    }

    public static let migrations: [PostgresMigrations.Migration] = [
        .init(
            version: 1,
            name: "cluster",
            statements: [
                """
                CREATE TABLE cluster_replicas (
                    id TEXT PRIMARY KEY,
                    address TEXT NOT NULL,
                    started_at BIGINT NOT NULL,
                    last_seen_at BIGINT NOT NULL,
                    pool TEXT
                )
                """,
                """
                CREATE TABLE cluster_restarts (
                    id TEXT PRIMARY KEY,
                    force BOOLEAN NOT NULL,
                    requested_by TEXT NOT NULL,
                    requested_at BIGINT NOT NULL,
                    expires_at BIGINT NOT NULL,
                    finished BOOLEAN NOT NULL DEFAULT false
                )
                """,
                """
                CREATE TABLE cluster_restart_outcomes (
                    restart_id TEXT NOT NULL REFERENCES cluster_restarts (id) ON DELETE CASCADE,
                    replica_id TEXT NOT NULL,
                    outcome TEXT NOT NULL,
                    PRIMARY KEY (restart_id, replica_id)
                )
                """,
                """
                CREATE TABLE cluster_leases (
                    role TEXT PRIMARY KEY,
                    holder TEXT NOT NULL,
                    expires_at BIGINT NOT NULL
                )
                """,
            ]
        ),
        .init(
            version: 2,
            name: "cluster-breakers",
            statements: [
                // One row per model: its shared breaker (open_until NULL: closed) and its probe lease.
                """
                CREATE TABLE cluster_breakers (
                    model TEXT PRIMARY KEY,
                    open_until BIGINT,
                    failed_probes INTEGER NOT NULL,
                    changed_by TEXT NOT NULL,
                    probe_holder TEXT,
                    probe_until BIGINT
                )
                """
            ]
        ),
    ]

    public func heartbeat(_ replica: ReplicaRecord, now: Date) async throws {
        let pool = try replica.pool.map { String(decoding: try Self.encoder.encode($0), as: UTF8.self) }
        try await self.database.query(
            """
            INSERT INTO cluster_replicas (id, address, started_at, last_seen_at, pool)
            VALUES (\(replica.id), \(replica.address), \(replica.startedAt.storedMilliseconds), \(now.storedMilliseconds),
                \(pool))
            ON CONFLICT (id) DO UPDATE SET last_seen_at = excluded.last_seen_at, address = excluded.address,
                pool = excluded.pool
            """,
            logger: self.logger
        )
    }

    public func replicas() async throws -> [ReplicaRecord] {
        let rows = try await self.database.query(
            "SELECT id, address, started_at, last_seen_at, pool FROM cluster_replicas ORDER BY started_at, id",
            logger: self.logger
        )
        var replicas: [ReplicaRecord] = []
        let decoded = rows.decode((String, String, Int64, Int64, String?).self)
        for try await (id, address, startedAt, lastSeenAt, pool) in decoded {
            replicas.append(
                ReplicaRecord(
                    id: id,
                    address: address,
                    startedAt: Date(storedMilliseconds: startedAt),
                    lastSeenAt: Date(storedMilliseconds: lastSeenAt),
                    pool: try pool.map { try Self.decoder.decode(ReplicaPool.self, from: Data($0.utf8)) }
                )
            )
        }
        return replicas
    }

    public func acquireLease(_ role: SingletonRole, holder: String, until: Date, now: Date) async throws -> Bool {
        let rows = try await self.database.query(
            """
            INSERT INTO cluster_leases (role, holder, expires_at) VALUES (\(role.rawValue), \(holder), \(until.storedMilliseconds))
            ON CONFLICT (role) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at
            WHERE cluster_leases.holder = excluded.holder OR cluster_leases.expires_at <= \(now.storedMilliseconds)
            RETURNING holder
            """,
            logger: self.logger
        )
        for try await _ in rows.decode(String.self) { return true }
        return false
    }

    static let encoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .millisecondsSince1970
        return encoder
    }()

    static let decoder: JSONDecoder = {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .millisecondsSince1970
        return decoder
    }()

    public func releaseLease(_ role: SingletonRole, holder: String) async throws {
        try await self.database.query(
            "DELETE FROM cluster_leases WHERE role = \(role.rawValue) AND holder = \(holder)",
            logger: self.logger
        )
    }

    /// The advisory lock that makes "join the current restart or begin one" atomic across replicas.
    static let restartLockKey: Int64 = 0x6172_6372_7374

    public func beginRestart(_ candidate: ClusterRestart, now: Date) async throws -> ClusterRestart {
        let logger = self.logger
        return try await self.database.withTransaction(logger: logger) { connection in
            try await connection.query("SELECT pg_advisory_xact_lock(\(Self.restartLockKey))", logger: logger)
            if let current = try await Self.current(connection, now: now, logger: logger) { return current }
            try await connection.query(
                """
                INSERT INTO cluster_restarts (id, force, requested_by, requested_at, expires_at)
                VALUES (\(candidate.id), \(candidate.force), \(candidate.requestedBy),
                    \(candidate.requestedAt.storedMilliseconds), \(candidate.expiresAt.storedMilliseconds))
                """,
                logger: logger
            )
            // Old restarts go with their outcomes; an hour of them is plenty to look back on.
            try await connection.query(
                "DELETE FROM cluster_restarts WHERE requested_at < \(now.storedMilliseconds - 3_600_000)",
                logger: logger
            )
            return candidate
        }
    }

    public func currentRestart(now: Date) async throws -> ClusterRestart? {
        let logger = self.logger
        return try await self.database.withTransaction(logger: logger) { connection in
            try await Self.current(connection, now: now, logger: logger)
        }
    }

    private static func current(
        _ connection: PostgresConnection,
        now: Date,
        logger: Logger
    ) async throws
        -> ClusterRestart?
    {
        let rows = try await connection.query(
            """
            SELECT id, force, requested_by, requested_at, expires_at FROM cluster_restarts
            WHERE NOT finished AND expires_at > \(now.storedMilliseconds) ORDER BY requested_at DESC LIMIT 1
            """,
            logger: logger
        )
        for try await (id, force, requestedBy, requestedAt, expiresAt) in rows.decode(
            (String, Bool, String, Int64, Int64).self
        ) {
            return ClusterRestart(
                id: id,
                force: force,
                requestedBy: requestedBy,
                requestedAt: Date(storedMilliseconds: requestedAt),
                expiresAt: Date(storedMilliseconds: expiresAt)
            )
        }
        return nil
    }

    public func recordRestartOutcome(_ outcome: ReplicaRestartOutcome, restartID: String) async throws {
        let json = String(decoding: try Self.encoder.encode(outcome), as: UTF8.self)
        try await self.database.query(
            """
            INSERT INTO cluster_restart_outcomes (restart_id, replica_id, outcome)
            VALUES (\(restartID), \(outcome.replicaID), \(json))
            ON CONFLICT (restart_id, replica_id) DO UPDATE SET outcome = excluded.outcome
            """,
            logger: self.logger
        )
    }

    public func restartOutcomes(_ restartID: String) async throws -> [ReplicaRestartOutcome] {
        let rows = try await self.database.query(
            "SELECT outcome FROM cluster_restart_outcomes WHERE restart_id = \(restartID) ORDER BY replica_id",
            logger: self.logger
        )
        var outcomes: [ReplicaRestartOutcome] = []
        for try await json in rows.decode(String.self) {
            outcomes.append(try Self.decoder.decode(ReplicaRestartOutcome.self, from: Data(json.utf8)))
        }
        return outcomes
    }

    public func finishRestart(_ restartID: String) async throws {
        try await self.database.query(
            "UPDATE cluster_restarts SET finished = true WHERE id = \(restartID)",
            logger: self.logger
        )
    }

    public func leave(_ replicaID: String) async throws {
        try await self.database.query("DELETE FROM cluster_replicas WHERE id = \(replicaID)", logger: self.logger)
    }

    public func forgetReplicas(lastSeenBefore cutoff: Date) async throws {
        try await self.database.query(
            "DELETE FROM cluster_replicas WHERE last_seen_at < \(cutoff.storedMilliseconds)",
            logger: self.logger
        )
    }
}
