import ArcanosCore
import ArcanosStore
import ArcanosTesting
import Foundation
import GRDB
import Testing

/// The heal audit on SQLite: it keeps the contract, and what it stores went through the redactor.
@Suite struct HealAuditRedactionTests {
    @Test func sqliteAuditKeepsTheContract() async throws {
        try await AuditLogContract.verify(try SQLiteHealAuditLog(writer: DatabaseQueue()))
    }

    @Test func storedRecordsCarryNoSecretAndNoLongPrompt() async throws {
        let queue = try DatabaseQueue()
        let log = try SQLiteHealAuditLog(writer: queue)
        var record = AuditLogContract.sampleRecord(index: 2, at: Date())
        record.plan.message = "The provider said: invalid Authorization: Bearer sk-live-abcdefghijklmnop"
        record.outcomeDetail = "retry with api_key=supersecretvalue"
        try await log.append(record)
        let raw = try await queue.read { db in try String.fetchOne(db, sql: "SELECT record FROM heal_audit") }
        let stored = try #require(raw)
        #expect(!stored.contains("sk-live") && !stored.contains("supersecretvalue"))
        let page = try await log.list(limit: 10, before: nil)
        #expect(page.heals.first?.plan.steps == record.plan.steps)
        #expect(page.heals.first?.caller.principal == record.caller.principal)
    }

    /// Fails closed: a record the redactor cannot turn back into a record is refused, never stored as it was.
    @Test func aRecordThatCannotBeRedactedIsNotStored() async throws {
        let queue = try DatabaseQueue()
        // `outcome` as a secret name: its enum value becomes "[redacted]", which no longer decodes.
        let log = try SQLiteHealAuditLog(writer: queue, redactor: Redactor(additionalSecretNames: ["outcome"]))
        var record = AuditLogContract.sampleRecord(index: 1, at: Date())
        record.outcomeDetail = "retry with api_key=supersecretvalue"
        let error = await #expect(throws: ArcanosError.self) { try await log.append(record) }
        #expect(error?.code == .internalError)
        let rows = try await queue.read { db in try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM heal_audit") }
        #expect(rows == 0)
        #expect(try await log.list(limit: 10, before: nil).heals.isEmpty)
    }
}
