import ArcanosCore
import ArcanosTesting
import Testing

@Suite struct InMemoryHealAuditLogTests {
    @Test func passesTheAuditLogContract() async throws {
        try await AuditLogContract.verify(InMemoryHealAuditLog())
    }
}
