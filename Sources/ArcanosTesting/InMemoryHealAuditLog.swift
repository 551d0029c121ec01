import ArcanosCore
import Foundation
import Synchronization

/// `AuditLog` in memory, for tests.
public final class InMemoryHealAuditLog: AuditLog {
    private struct State {
        var records: [HealAuditRecord] = []
        var nextSequence: Int64 = 1
    }

    private let state = Mutex(State())
    private let appendsContinuation: AsyncStream<HealAuditRecord>.Continuation
    /// Every appended record, as it is stored: tests wait on this instead of sleeping.
    public let appends: AsyncStream<HealAuditRecord>

    public init() {
        (self.appends, self.appendsContinuation) = AsyncStream.makeStream(of: HealAuditRecord.self)
    }

    /// Every record, oldest first.
    public var records: [HealAuditRecord] { self.state.withLock { $0.records } }

    @discardableResult
    public func append(_ record: HealAuditRecord) async throws -> HealAuditRecord {
        let stored = self.state.withLock { state in
            var record = record
            record.sequence = state.nextSequence
            state.nextSequence += 1
            state.records.append(record)
            return record
        }
        self.appendsContinuation.yield(stored)
        return stored
    }

    public func list(limit: Int, before: Int64?) async throws -> HealAuditPage {
        let newestFirst = self.state.withLock { state in
            state.records.reversed().filter { record in before.map { (record.sequence ?? 0) < $0 } ?? true }
        }
        return HealAuditPage(newestFirst: Array(newestFirst.prefix(limit + 1)), limit: limit)
    }
}
