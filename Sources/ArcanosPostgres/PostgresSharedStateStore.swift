import ArcanosCore
import Foundation
import Logging
import PostgresNIO

/// The shared state in PostgreSQL, beside the jobs and the audit: a challenge issued on one replica passes
/// once on any other, a token minted on one works once anywhere, the heal and failed-mint limits count every
/// replica's requests together, and `lastHeal` is one record. A take is one `DELETE … RETURNING`, so exactly one
/// of any number of concurrent takes gets the grant; a caller's counter is one row, locked while it is decided.
public final class PostgresSharedStateStore: SharedStateStore {
    private let database: PostgresDatabaseService
    private let logger: Logger

    public init(database: PostgresDatabaseService, logger: Logger) {
        self.database = database
        self.logger = logger
    }

    /// The tables; run them in the store's `PostgresDatabaseService`.
    public static let migrations: [PostgresMigrations.Migration] = [
        .init(
            version: 1,
            name: "shared-state",
            statements: [
                """
                CREATE TABLE confirmation_grants (
                    seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
                    kind TEXT NOT NULL,
                    id TEXT NOT NULL,
                    method TEXT NOT NULL,
                    path TEXT NOT NULL,
                    issued_at BIGINT NOT NULL,
                    expires_at BIGINT NOT NULL,
                    UNIQUE (kind, id)
                )
                """,
                "CREATE INDEX confirmation_grants_expiry ON confirmation_grants (kind, expires_at)",
                "CREATE INDEX confirmation_grants_age ON confirmation_grants (kind, seq)",
                """
                CREATE TABLE rate_limit_hits (
                    scope TEXT NOT NULL,
                    caller TEXT NOT NULL,
                    hits BIGINT[] NOT NULL,
                    last_hit BIGINT NOT NULL,
                    PRIMARY KEY (scope, caller)
                )
                """,
                "CREATE INDEX rate_limit_hits_age ON rate_limit_hits (scope, last_hit)",
                """
                CREATE TABLE shared_record (
                    key TEXT PRIMARY KEY,
                    value TEXT NOT NULL,
                    updated_at BIGINT NOT NULL
                )
                """,
            ]
        )
    ]

    public func insert(_ grant: ConfirmationGrant, capacity: Int, now: Date) async throws {
        let kind = grant.kind.rawValue
        let logger = self.logger
        try await self.database.withTransaction(logger: logger) { connection in
            try await connection.query(
                "DELETE FROM confirmation_grants WHERE kind = \(kind) AND expires_at <= \(now.storedMilliseconds)",
                logger: logger
            )
            try await connection.query(
                """
                INSERT INTO confirmation_grants (kind, id, method, path, issued_at, expires_at)
                VALUES (\(kind), \(grant.id), \(grant.method), \(grant.path), \(grant.issuedAt.storedMilliseconds),
                    \(grant.expiresAt.storedMilliseconds))
                ON CONFLICT (kind, id) DO UPDATE SET method = excluded.method, path = excluded.path,
                    issued_at = excluded.issued_at, expires_at = excluded.expires_at
                """,
                logger: logger
            )
            // The newest `capacity` stay.
            try await connection.query(
                """
                DELETE FROM confirmation_grants WHERE kind = \(kind) AND seq <= (
                    SELECT seq FROM confirmation_grants WHERE kind = \(kind)
                    ORDER BY seq DESC LIMIT 1 OFFSET \(max(capacity, 1))
                )
                """,
                logger: logger
            )
        }
    }

    public func take(_ kind: ConfirmationGrant.Kind, id: String, now: Date) async throws -> ConfirmationGrant? {
        let rows = try await self.database.query(
            """
            DELETE FROM confirmation_grants WHERE kind = \(kind.rawValue) AND id = \(id)
            RETURNING method, path, issued_at, expires_at
            """,
            logger: self.logger
        )
        for try await (method, path, issuedAt, expiresAt) in rows.decode((String, String, Int64, Int64).self) {
            let grant = ConfirmationGrant(
                kind: kind,
                id: id,
                method: method,
                path: path,
                issuedAt: Date(storedMilliseconds: issuedAt),
                expiresAt: Date(storedMilliseconds: expiresAt)
            )
            return now < grant.expiresAt ? grant : nil
        }
        return nil
    }

    public func count(_ kind: ConfirmationGrant.Kind) async throws -> Int {
        let rows = try await self.database.query(
            "SELECT COUNT(*) FROM confirmation_grants WHERE kind = \(kind.rawValue)",
            logger: self.logger
        )
        for try await count in rows.decode(Int64.self) { return Int(count) }
        return 0
    }

    public func acquire(scope: String, caller: String, limit: RateLimit, now: Date) async throws -> RateLimitDecision {
        let logger = self.logger
        return try await self.database.withTransaction(logger: logger) { connection in
            // A row to lock, so concurrent acquires for one caller take turns.
            try await connection.query(
                """
                INSERT INTO rate_limit_hits (scope, caller, hits, last_hit)
                VALUES (\(scope), \(caller), '{}', \(now.storedMilliseconds))
                ON CONFLICT (scope, caller) DO NOTHING
                """,
                logger: logger
            )
            var hits = try await Self.lockedHits(connection, scope: scope, caller: caller, logger: logger)
            let decision = SlidingWindowRateLimiter.acquire(storedMilliseconds: &hits, now: now, configuration: limit)
            try await connection.query(
                """
                UPDATE rate_limit_hits SET hits = \(hits), last_hit = \(hits.last ?? now.storedMilliseconds)
                WHERE scope = \(scope) AND caller = \(caller)
                """,
                logger: logger
            )
            // Callers whose every hit left the window go; past `maximumCallers`, the least recently seen.
            try await connection.query(
                """
                DELETE FROM rate_limit_hits WHERE scope = \(scope) AND caller <> \(caller)
                AND last_hit <= \(now.storedMilliseconds - limit.window.milliseconds)
                """,
                logger: logger
            )
            try await connection.query(
                """
                DELETE FROM rate_limit_hits WHERE scope = \(scope) AND caller IN (
                    SELECT caller FROM rate_limit_hits WHERE scope = \(scope) AND caller <> \(caller)
                    ORDER BY last_hit DESC OFFSET \(max(limit.maximumCallers - 1, 0))
                )
                """,
                logger: logger
            )
            return decision
        }
    }

    public func retryAfter(scope: String, caller: String, limit: RateLimit, now: Date) async throws -> Duration? {
        let rows = try await self.database.query(
            "SELECT hits FROM rate_limit_hits WHERE scope = \(scope) AND caller = \(caller)",
            logger: self.logger
        )
        var hits: [Int64] = []
        for try await stored in rows.decode([Int64].self) { hits = stored }
        return SlidingWindowRateLimiter.retryAfter(storedMilliseconds: &hits, now: now, configuration: limit)
    }

    public func setRecord(_ value: JSONValue, for key: SharedRecordKey, now: Date) async throws {
        let json = String(decoding: try JSONEncoder().encode(value), as: UTF8.self)
        try await self.database.query(
            """
            INSERT INTO shared_record (key, value, updated_at) VALUES (\(key.rawValue), \(json), \(now.storedMilliseconds))
            ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at
            """,
            logger: self.logger
        )
    }

    public func record(_ key: SharedRecordKey) async throws -> JSONValue? {
        let rows = try await self.database.query(
            "SELECT value FROM shared_record WHERE key = \(key.rawValue)",
            logger: self.logger
        )
        for try await json in rows.decode(String.self) {
            return try JSONDecoder().decode(JSONValue.self, from: Data(json.utf8))
        }
        return nil
    }

    /// A caller's counted instants, its row locked until the transaction ends.
    private static func lockedHits(
        _ connection: PostgresConnection,
        scope: String,
        caller: String,
        logger: Logger
    ) async throws -> [Int64] {
        let rows = try await connection.query(
            "SELECT hits FROM rate_limit_hits WHERE scope = \(scope) AND caller = \(caller) FOR UPDATE",
            logger: logger
        )
        for try await hits in rows.decode([Int64].self) { return hits }
        return []
    }
}
