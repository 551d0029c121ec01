import Foundation
import Synchronization

/// The one `MetricsHistory` of a server, shared: `ArcanosMetrics` counts requests and degraded answers into
/// it, `MetricsHistoryService` closes its intervals, and `GET /metrics/history` reads it.
public final class MetricsHistoryRecorder: Sendable {
    /// What `GET /metrics/history` serves.
    public struct Snapshot: Sendable, Hashable, Codable {
        public var intervalMs: Int64
        public var windowMs: Int64
        /// The replica whose samples these are, in a cluster; nil on a server alone.
        public var replica: String?
        /// Oldest first.
        public var points: [MetricsHistory.Point]

        private enum CodingKeys: String, CodingKey {
            case intervalMs, windowMs, replica, points
        }

        /// A server alone says `"replica": null`.
        public func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(self.intervalMs, forKey: .intervalMs)
            try container.encode(self.windowMs, forKey: .windowMs)
            try container.encode(self.replica, forKey: .replica)
            try container.encode(self.points, forKey: .points)
        }
    }

    public let configuration: MetricsHistory.Configuration
    public let replicaID: String?
    private let history: Mutex<MetricsHistory>

    public init(configuration: MetricsHistory.Configuration = .init(), replicaID: String? = nil, now: Date = Date()) {
        self.configuration = configuration
        self.replicaID = replicaID
        self.history = Mutex(MetricsHistory(configuration: configuration, now: now))
    }

    public func recordRequest(duration: Duration) {
        self.history.withLock { $0.recordRequest(duration: duration) }
    }

    public func recordDegradedAnswer() {
        self.history.withLock { $0.recordDegradedAnswer() }
    }

    @discardableResult
    public func close(now: Date, gauges: MetricsHistory.Gauges) -> MetricsHistory.Point {
        self.history.withLock { $0.close(now: now, gauges: gauges) }
    }

    public func snapshot(now: Date) -> Snapshot {
        Snapshot(
            intervalMs: self.configuration.interval.milliseconds,
            windowMs: self.configuration.window.milliseconds,
            replica: self.replicaID,
            points: self.history.withLock { $0.points(now: now) }
        )
    }
}
