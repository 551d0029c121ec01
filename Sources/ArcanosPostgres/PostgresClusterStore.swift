import ArcanosCore
import Foundation
import Logging
import PostgresNIO

/// Membership and singleton leases in PostgreSQL. A lease is one row per role, taken or renewed by one
/// conditional upsert, so of replicas asking at once exactly one gets it, and a holder's renewal is refused
/// once another took the expired lease over (River's leader table, renewed only by its holder).
public final class PostgresClusterStore: ClusterStore {
    private let database: PostgresDatabaseService
    private let logger: Logger

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
                CREATE TABLE cluster_leases (
                    role TEXT PRIMARY KEY,
                    holder TEXT NOT NULL,
                    expires_at BIGINT NOT NULL
                )
                """,
            ]
        )
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

    private static let encoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .millisecondsSince1970
        return encoder
    }()

    private static let decoder: JSONDecoder = {
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
