/// An `AuditLog` that counts every heal it records in `arcanos_heals_total{source, outcome}`: each heal
/// request, plan-only ones and the watchdog's included, appends exactly one record, so the audit is where
/// heals are counted once.
public struct MeteredAuditLog: AuditLog {
    let base: any AuditLog
    let metrics: ArcanosMetrics

    public init(_ base: any AuditLog, metrics: ArcanosMetrics) {
        self.base = base
        self.metrics = metrics
    }

    @discardableResult
    public func append(_ record: HealAuditRecord) async throws -> HealAuditRecord {
        let stored = try await self.base.append(record)
        self.metrics.recordHeal(source: Self.source(of: record.caller.principal), outcome: record.outcome.rawValue)
        return stored
    }

    public func list(limit: Int, before: Int64?) async throws -> HealAuditPage {
        try await self.base.list(limit: limit, before: before)
    }

    /// A bounded label from the principal (`api-key:2`, `gpt:<id>`, `automation`, `watchdog`, `address:…`):
    /// the kind of caller, never the id.
    static func source(of principal: String) -> String {
        switch principal.split(separator: ":", maxSplits: 1).first.map(String.init) ?? "" {
        case "api-key", "address": "operator"
        case "gpt": "gpt"
        case "automation": "automation"
        case "watchdog": "watchdog"
        case "anonymous": "anonymous"
        default: "other"
        }
    }
}
