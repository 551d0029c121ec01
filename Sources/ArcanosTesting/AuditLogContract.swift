import ArcanosCore
import Foundation

/// What every `AuditLog` must do, run by each implementation's tests: records come back whole, newest first,
/// with increasing sequences, and `limit` + `before` page through them without gaps or repeats.
public enum AuditLogContract {
    public struct Violation: Error, CustomStringConvertible {
        public var description: String
    }

    public static func verify(_ log: any AuditLog) async throws {
        func check(_ condition: Bool, _ message: String) throws {
            if !condition { throw Violation(description: message) }
        }
        let empty = try await log.list(limit: 10, before: nil)
        try check(empty.heals.isEmpty && empty.nextBefore == nil, "a new log lists nothing")

        let base = Date(timeIntervalSince1970: 1_800_000_000)
        var appended: [HealAuditRecord] = []
        for index in 0..<7 {
            let record = Self.sampleRecord(index: index, at: base.addingTimeInterval(Double(index)))
            let stored = try await log.append(record)
            try check(stored.sequence != nil, "append assigns a sequence")
            if let previous = appended.last?.sequence {
                try check(stored.sequence! > previous, "sequences increase")
            }
            appended.append(stored)
        }

        let first = try await log.list(limit: 3, before: nil)
        try check(
            first.heals.map(\.id) == appended.reversed().prefix(3).map(\.id),
            "the first page is the newest three"
        )
        try check(first.heals.first == appended.last, "a record comes back exactly as stored")
        try check(first.nextBefore == first.heals.last?.sequence, "nextBefore continues after the last shown")

        var seen = first.heals.map(\.id)
        var cursor = first.nextBefore
        while let before = cursor {
            let page = try await log.list(limit: 3, before: before)
            try check(page.heals.allSatisfy { ($0.sequence ?? .max) < before }, "before excludes newer records")
            seen += page.heals.map(\.id)
            cursor = page.nextBefore
        }
        try check(seen == appended.reversed().map(\.id), "paging visits every record once, newest first")

        let all = try await log.list(limit: 100, before: nil)
        try check(all.heals.count == 7 && all.nextBefore == nil, "a page larger than the log ends it")
    }

    /// A full record (execution, verification, AI plan) so that every field round-trips.
    public static func sampleRecord(index: Int, at date: Date) -> HealAuditRecord {
        let executes = index.isMultiple(of: 2)
        return HealAuditRecord(
            requestedAt: date,
            completedAt: date.addingTimeInterval(0.25),
            caller: .init(
                principal: "api-key:\(index % 3)",
                confirmation: HealConfirmation(
                    status: executes ? "trusted-gpt" : "confirmed",
                    gptId: executes ? "ft:gpt-4o:arcanos:\(index)" : nil,
                    trustedAutomation: executes
                )
            ),
            request: HealRequest(execute: executes ? nil : false, mode: nil, force: index == 3),
            plan: RecoveryPlan(
                severity: executes ? .critical : .warning,
                recommendedAction: executes ? .restartWorkers : .fallbackModel,
                message: "plan \(index) — with ünïcode",
                steps: ["step one", "step two \(index)"],
                fallbackModel: executes ? nil : "gpt-4o-mini",
                source: index == 1 ? .ai : .heuristic,
                generatedAt: date
            ),
            ai: index == 1 ? .used : .notConfigured,
            decision: .init(executes ? .execute(autoExecuted: true) : .plan(.planRequested)),
            outcome: executes ? .executed : .planned,
            restart: executes
                ? HealRestart(
                    started: true,
                    alreadyRunning: false,
                    runWorkers: true,
                    workerCount: 4,
                    workerIds: (1...4).map { "arcanos-worker-\($0)" },
                    model: "gpt-4o-mini",
                    startedAt: date,
                    message: "restarted 4 workers"
                ) : nil,
            verification: executes ? HealVerification(activeWorkers: 4, configuredWorkers: 4, checkedAt: date) : nil
        )
    }
}
