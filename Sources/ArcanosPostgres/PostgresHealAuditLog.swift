import ArcanosCore
import Foundation
import Logging
import PostgresNIO

/// The heal audit in PostgreSQL (`heal_audit`, beside the jobs), shared by every replica on the database: a
/// heal executed on one is listed by all. The record is kept as its stored JSON; the columns that lists filter
/// or sort on are kept beside it, as in SQLite.
public final class PostgresHealAuditLog: AuditLog {
    private let database: PostgresDatabaseService
    private let redactor: Redactor
    private let logger: Logger

    public init(database: PostgresDatabaseService, redactor: Redactor = .standard, logger: Logger) {
        self.database = database
        self.redactor = redactor
        self.logger = logger
    }

    /// The `heal_audit` table; run them in the log's `PostgresDatabaseService`.
    public static let migrations: [PostgresMigrations.Migration] = [
        .init(
            version: 1,
            name: "heal-audit",
            statements: [
                """
                CREATE TABLE heal_audit (
                    seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
                    id TEXT NOT NULL UNIQUE,
                    requested_at BIGINT NOT NULL,
                    plan_id TEXT NOT NULL,
                    outcome TEXT NOT NULL,
                    principal TEXT NOT NULL,
                    record TEXT NOT NULL
                )
                """
            ]
        )
    ]

    @discardableResult
    public func append(_ record: HealAuditRecord) async throws -> HealAuditRecord {
        let (stored, json) = try record.storedForm(redactor: self.redactor)
        var record = stored
        let rows = try await self.database.query(
            """
            INSERT INTO heal_audit (id, requested_at, plan_id, outcome, principal, record)
            VALUES (\(record.id), \(record.requestedAt.storedMilliseconds), \(record.plan.planId),
                \(record.outcome.rawValue), \(record.caller.principal), \(json))
            RETURNING seq
            """,
            logger: self.logger
        )
        for try await sequence in rows.decode(Int64.self) {
            record.sequence = sequence
        }
        return record
    }

    public func list(limit: Int, before: Int64?) async throws -> HealAuditPage {
        let rows = try await self.database.query(
            """
            SELECT seq, record FROM heal_audit WHERE seq < \(before ?? Int64.max)
            ORDER BY seq DESC LIMIT \(limit + 1)
            """,
            logger: self.logger
        )
        var records: [HealAuditRecord] = []
        for try await (sequence, json) in rows.decode((Int64, String).self) {
            records.append(try HealAuditRecord(storedJSON: json, sequence: sequence))
        }
        return HealAuditPage(newestFirst: records, limit: limit)
    }
}
