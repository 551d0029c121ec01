import ArcanosCore
import Foundation
import GRDB

/// The heal audit in SQLite (`heal_audit` in `arcanos.sqlite`, beside the job store). The full record is kept
/// as JSON; the columns that lists filter or sort on are kept beside it.
public final class SQLiteHealAuditLog: AuditLog {
    private let writer: any DatabaseWriter
    private let redactor: Redactor

    /// Uses `writer` (the database the job store opened, or an in-memory queue in tests) after adding the
    /// audit's own migrations; they are named `heal-audit-*` so they never collide with other tables' ones.
    public init(writer: any DatabaseWriter, redactor: Redactor = .standard) throws {
        self.writer = writer
        self.redactor = redactor
        try Self.migrator.migrate(writer)
    }

    /// Opens (creating if needed) the database at `path` on its own.
    public convenience init(path: String) throws {
        try self.init(writer: DatabasePool.arcanos(path: path))
    }

    /// Lives in the job store's database, on its connection pool: one pool per process for `arcanos.sqlite`.
    public convenience init(sharingDatabaseOf store: SQLiteJobStore) throws {
        try self.init(writer: store.writer)
    }

    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("heal-audit-v1") { db in
            try db.execute(
                sql: """
                    CREATE TABLE heal_audit (
                        seq INTEGER PRIMARY KEY AUTOINCREMENT,
                        id TEXT NOT NULL UNIQUE,
                        requested_at INTEGER NOT NULL,
                        plan_id TEXT NOT NULL,
                        outcome TEXT NOT NULL,
                        principal TEXT NOT NULL,
                        record TEXT NOT NULL
                    )
                    """
            )
        }
        return migrator
    }

    @discardableResult
    public func append(_ record: HealAuditRecord) async throws -> HealAuditRecord {
        let (stored, json) = try record.storedForm(redactor: self.redactor)
        var record = stored
        let sequence = try await self.writer.write { db -> Int64 in
            try db.execute(
                sql: """
                    INSERT INTO heal_audit (id, requested_at, plan_id, outcome, principal, record)
                    VALUES (?, ?, ?, ?, ?, ?)
                    """,
                arguments: [
                    stored.id, Int64(stored.requestedAt.timeIntervalSince1970 * 1000), stored.plan.planId,
                    stored.outcome.rawValue, stored.caller.principal, json,
                ]
            )
            return db.lastInsertedRowID
        }
        record.sequence = sequence
        return record
    }

    public func list(limit: Int, before: Int64?) async throws -> HealAuditPage {
        let rows = try await self.writer.read { db in
            try Row.fetchAll(
                db,
                sql: "SELECT seq, record FROM heal_audit WHERE seq < ? ORDER BY seq DESC LIMIT ?",
                arguments: [before ?? Int64.max, limit + 1]
            ).map { row -> (sequence: Int64, json: String) in (row["seq"], row["record"]) }
        }
        let records = try rows.map { try HealAuditRecord(storedJSON: $0.json, sequence: $0.sequence) }
        return HealAuditPage(newestFirst: records, limit: limit)
    }
}
