import ArcanosCore
import Foundation
import GRDB

/// The shared state in `arcanos.sqlite`, beside the jobs and the audit: every process on the file sees the same
/// challenges, tokens, counters and record, and a restart forgets none of them (a restart does not reset a
/// limit). Each change is one write transaction; SQLite runs one at a time, which is what makes a take happen
/// exactly once and a limit of N let exactly N through.
public final class SQLiteSharedStateStore: SharedStateStore {
    private let writer: any DatabaseWriter

    /// Uses `writer` (the job store's database, or an in-memory queue in tests) after adding its migrations,
    /// named `shared-state-*` so they never collide with other tables' ones.
    public init(writer: any DatabaseWriter) throws {
        self.writer = writer
        try Self.migrator.migrate(writer)
    }

    /// Lives in the job store's database, on its connection pool.
    public convenience init(sharingDatabaseOf store: SQLiteJobStore) throws {
        try self.init(writer: store.writer)
    }

    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("shared-state-v1") { db in
            try db.execute(
                sql: """
                    CREATE TABLE confirmation_grants (
                        seq INTEGER PRIMARY KEY AUTOINCREMENT,
                        kind TEXT NOT NULL,
                        id TEXT NOT NULL,
                        method TEXT NOT NULL,
                        path TEXT NOT NULL,
                        issued_at INTEGER NOT NULL,
                        expires_at INTEGER NOT NULL,
                        UNIQUE (kind, id)
                    );
                    CREATE INDEX confirmation_grants_expiry ON confirmation_grants (kind, expires_at);
                    CREATE TABLE rate_limit_hits (
                        scope TEXT NOT NULL,
                        caller TEXT NOT NULL,
                        hits TEXT NOT NULL,
                        last_hit INTEGER NOT NULL,
                        PRIMARY KEY (scope, caller)
                    );
                    CREATE INDEX rate_limit_hits_age ON rate_limit_hits (scope, last_hit);
                    CREATE TABLE shared_record (
                        key TEXT PRIMARY KEY NOT NULL,
                        value TEXT NOT NULL,
                        updated_at INTEGER NOT NULL
                    );
                    """
            )
        }
        return migrator
    }

    public func insert(_ grant: ConfirmationGrant, capacity: Int, now: Date) async throws {
        try await self.writer.write { db in
            try db.execute(
                sql: "DELETE FROM confirmation_grants WHERE kind = ? AND expires_at <= ?",
                arguments: [grant.kind.rawValue, now.storedMilliseconds]
            )
            try db.execute(
                sql: """
                    INSERT OR REPLACE INTO confirmation_grants (kind, id, method, path, issued_at, expires_at)
                    VALUES (?, ?, ?, ?, ?, ?)
                    """,
                arguments: [
                    grant.kind.rawValue, grant.id, grant.method, grant.path, grant.issuedAt.storedMilliseconds,
                    grant.expiresAt.storedMilliseconds,
                ]
            )
            // The newest `capacity` stay.
            try db.execute(
                sql: """
                    DELETE FROM confirmation_grants WHERE kind = ?1 AND seq <= (
                        SELECT seq FROM confirmation_grants WHERE kind = ?1 ORDER BY seq DESC LIMIT 1 OFFSET ?2
                    )
                    """,
                arguments: [grant.kind.rawValue, max(capacity, 1)]
            )
        }
    }

    public func take(_ kind: ConfirmationGrant.Kind, id: String, now: Date) async throws -> ConfirmationGrant? {
        try await self.writer.write { db -> ConfirmationGrant? in
            let arguments: StatementArguments = [kind.rawValue, id]
            guard
                let row = try Row.fetchOne(
                    db,
                    sql:
                        "SELECT method, path, issued_at, expires_at FROM confirmation_grants WHERE kind = ? AND id = ?",
                    arguments: arguments
                )
            else { return nil }
            try db.execute(sql: "DELETE FROM confirmation_grants WHERE kind = ? AND id = ?", arguments: arguments)
            let grant = ConfirmationGrant(
                kind: kind,
                id: id,
                method: row["method"],
                path: row["path"],
                issuedAt: Date(storedMilliseconds: row["issued_at"]),
                expiresAt: Date(storedMilliseconds: row["expires_at"])
            )
            return now < grant.expiresAt ? grant : nil
        }
    }

    public func count(_ kind: ConfirmationGrant.Kind) async throws -> Int {
        try await self.writer.read { db in
            try Int.fetchOne(
                db,
                sql: "SELECT COUNT(*) FROM confirmation_grants WHERE kind = ?",
                arguments: [kind.rawValue]
            ) ?? 0
        }
    }

    public func acquire(scope: String, caller: String, limit: RateLimit, now: Date) async throws -> RateLimitDecision {
        try await self.writer.write { db in
            var hits = try Self.hits(db, scope: scope, caller: caller)
            let decision = SlidingWindowRateLimiter.acquire(storedMilliseconds: &hits, now: now, configuration: limit)
            try Self.store(hits, db, scope: scope, caller: caller)
            try Self.forgetStaleCallers(db, scope: scope, keeping: caller, limit: limit, now: now)
            return decision
        }
    }

    public func retryAfter(scope: String, caller: String, limit: RateLimit, now: Date) async throws -> Duration? {
        try await self.writer.read { db in
            var hits = try Self.hits(db, scope: scope, caller: caller)
            return SlidingWindowRateLimiter.retryAfter(storedMilliseconds: &hits, now: now, configuration: limit)
        }
    }

    public func setRecord(_ value: JSONValue, for key: SharedRecordKey, now: Date) async throws {
        let json = String(decoding: try JSONEncoder().encode(value), as: UTF8.self)
        try await self.writer.write { db in
            try db.execute(
                sql: "INSERT OR REPLACE INTO shared_record (key, value, updated_at) VALUES (?, ?, ?)",
                arguments: [key.rawValue, json, now.storedMilliseconds]
            )
        }
    }

    public func record(_ key: SharedRecordKey) async throws -> JSONValue? {
        let json = try await self.writer.read { db in
            try String.fetchOne(db, sql: "SELECT value FROM shared_record WHERE key = ?", arguments: [key.rawValue])
        }
        return try json.map { try JSONDecoder().decode(JSONValue.self, from: Data($0.utf8)) }
    }

    /// A caller's counted instants, as `"ms,ms,…"`.
    private static func hits(_ db: Database, scope: String, caller: String) throws -> [Int64] {
        let text = try String.fetchOne(
            db,
            sql: "SELECT hits FROM rate_limit_hits WHERE scope = ? AND caller = ?",
            arguments: [scope, caller]
        )
        return text?.split(separator: ",").compactMap { Int64($0) } ?? []
    }

    private static func store(_ hits: [Int64], _ db: Database, scope: String, caller: String) throws {
        guard let last = hits.last else {
            try db.execute(
                sql: "DELETE FROM rate_limit_hits WHERE scope = ? AND caller = ?",
                arguments: [scope, caller]
            )
            return
        }
        try db.execute(
            sql: "INSERT OR REPLACE INTO rate_limit_hits (scope, caller, hits, last_hit) VALUES (?, ?, ?, ?)",
            arguments: [scope, caller, hits.map(String.init).joined(separator: ","), last]
        )
    }

    /// Callers whose every hit left the window go; past `maximumCallers`, the least recently seen.
    private static func forgetStaleCallers(
        _ db: Database,
        scope: String,
        keeping caller: String,
        limit: RateLimit,
        now: Date
    ) throws {
        try db.execute(
            sql: "DELETE FROM rate_limit_hits WHERE scope = ? AND last_hit <= ?",
            arguments: [scope, now.storedMilliseconds - limit.window.milliseconds]
        )
        try db.execute(
            sql: """
                DELETE FROM rate_limit_hits WHERE scope = ?1 AND caller <> ?2 AND rowid IN (
                    SELECT rowid FROM rate_limit_hits WHERE scope = ?1 AND caller <> ?2
                    ORDER BY last_hit DESC LIMIT -1 OFFSET ?3
                )
                """,
            arguments: [scope, caller, max(limit.maximumCallers - 1, 0)]
        )
    }
}
