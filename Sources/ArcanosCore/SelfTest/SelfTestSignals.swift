import Foundation

/// The self-test's part of the auto-heal signals: a failed latest run, or no run for two intervals while the
/// periodic self-test is on. Both are warnings for the heuristic.
public struct SelfTestSignals: Sendable, Hashable, Codable {
    /// The latest run failed; nil when no run has completed since start.
    public var failed: Bool?
    /// No run completed within two intervals; nil when the periodic self-test is off.
    public var stale: Bool?

    public init(failed: Bool?, stale: Bool?) {
        self.failed = failed
        self.stale = stale
    }

    /// Stale when the periodic self-test is on and nothing completed within two intervals of `now`, counting
    /// from start until the first run completes.
    public static func isStale(lastCompleted: Date?, since start: Date, interval: Duration?, now: Date) -> Bool? {
        guard let interval else { return nil }
        let reference = lastCompleted ?? start
        return now.timeIntervalSince(reference) > 2 * interval.seconds
    }
}

extension HealthSignals {
    /// Sets `selfTestFailed` and `selfTestStale` from the self-test.
    public mutating func apply(_ selfTest: SelfTestSignals) {
        self.selfTestFailed = selfTest.failed
        self.selfTestStale = selfTest.stale
    }
}

/// The `selfTest` block of `GET /workers/status`: the verdict and its age, no prompts and no results.
public struct SelfTestReport: Sendable, Hashable, Codable {
    public var enabled: Bool
    public var intervalMs: Int64?
    public var running: Bool
    public var stale: Bool
    /// `pass` or `fail` of the latest run since start; nil before the first.
    public var status: SelfTestSummary.Status?
    public var lastRun: Date?
    public var completedAt: Date?
    public var triggeredBy: SelfTestSummary.Trigger?
    public var passCount: Int?
    public var failCount: Int?

    public init(
        enabled: Bool,
        intervalMs: Int64?,
        running: Bool,
        stale: Bool,
        status: SelfTestSummary.Status?,
        lastRun: Date?,
        completedAt: Date?,
        triggeredBy: SelfTestSummary.Trigger?,
        passCount: Int?,
        failCount: Int?
    ) {
        self.enabled = enabled
        self.intervalMs = intervalMs
        self.running = running
        self.stale = stale
        self.status = status
        self.lastRun = lastRun
        self.completedAt = completedAt
        self.triggeredBy = triggeredBy
        self.passCount = passCount
        self.failCount = failCount
    }
}
