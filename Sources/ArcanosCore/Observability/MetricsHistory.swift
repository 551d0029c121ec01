import Foundation

/// The server's own recent history, for the dashboard's charts: one point per interval over the last
/// 15 minutes, in a ring of fixed size. Pure: whatever depends on time takes `now`.
///
/// Requests and degraded answers are counted into the open interval as they happen; `close(now:gauges:)`
/// turns it into a point with the gauges read at that moment (breakers, queue) and opens the next one.
public struct MetricsHistory: Sendable {
    public struct Configuration: Sendable, Hashable {
        /// Time between points (`ARCANOS_HISTORY_INTERVAL_MS`).
        public var interval: Duration
        /// How far back the points reach.
        public var window: Duration

        public init(interval: Duration = .seconds(5), window: Duration = .seconds(900)) {
            self.interval = interval
            self.window = window
        }

        /// Points kept: the window over the interval, rounded up (180 for 5 s over 15 minutes).
        public var capacity: Int { max(1, Int((self.window / self.interval).rounded(.up))) }
    }

    /// What a closing interval reads from other components.
    public struct Gauges: Sendable, Hashable {
        /// Breaker phase per model of the chain, by public name.
        public var breakers: [String: CircuitBreakerStateMachine<ContinuousClock.Instant>.Phase]
        /// Queued plus running jobs; nil when the job store could not be read.
        public var queueDepth: Int?

        public init(
            breakers: [String: CircuitBreakerStateMachine<ContinuousClock.Instant>.Phase] = [:],
            queueDepth: Int? = nil
        ) {
            self.breakers = breakers
            self.queueDepth = queueDepth
        }

        /// The breakers of the model client's report under their public names, and the queue as queued plus
        /// running jobs (leases that ran out included: those jobs are not finished).
        public init(report: LLMClientReport, queue: JobQueueStats?, modelNames: PublicModelNames) {
            self.breakers = Dictionary(
                report.models.map { (modelNames.name(for: $0.model), $0.breaker) },
                uniquingKeysWith: { first, _ in first }
            )
            self.queueDepth = queue.map { $0.depth + $0.inFlight + $0.expiredLeases }
        }
    }

    /// One closed interval.
    public struct Point: Sendable, Hashable, Codable {
        /// When the interval closed.
        public var at: Date
        /// The interval's length as measured: the configured one, or longer when the closing was late.
        public var intervalMs: Double
        /// Requests answered in the interval, and degraded answers among them.
        public var requests: Int
        public var degraded: Int
        public var requestsPerSecond: Double
        public var degradedPerSecond: Double
        /// The 99th percentile of the interval's request latencies (within 1%); nil without requests.
        public var p99Ms: Double?
        public var breakers: [String: CircuitBreakerStateMachine<ContinuousClock.Instant>.Phase]
        public var queueDepth: Int?

        private enum CodingKeys: String, CodingKey {
            case at, intervalMs, requests, degraded, requestsPerSecond, degradedPerSecond, p99Ms, breakers
            case queueDepth
        }

        /// Unknown values are `null`, not missing keys.
        public func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(self.at, forKey: .at)
            try container.encode(self.intervalMs, forKey: .intervalMs)
            try container.encode(self.requests, forKey: .requests)
            try container.encode(self.degraded, forKey: .degraded)
            try container.encode(self.requestsPerSecond, forKey: .requestsPerSecond)
            try container.encode(self.degradedPerSecond, forKey: .degradedPerSecond)
            try container.encode(self.p99Ms, forKey: .p99Ms)
            try container.encode(self.breakers, forKey: .breakers)
            try container.encode(self.queueDepth, forKey: .queueDepth)
        }
    }

    public let configuration: Configuration
    /// At most `capacity` points; once full, `oldest` is where the next one goes.
    private var ring: [Point] = []
    private var oldest = 0
    private var openedAt: Date
    private var requests = 0
    private var degraded = 0
    private var latencies = LatencyHistogram()

    public init(configuration: Configuration = .init(), now: Date) {
        self.configuration = configuration
        self.openedAt = now
        self.ring.reserveCapacity(configuration.capacity)
    }

    public mutating func recordRequest(duration: Duration) {
        self.requests += 1
        self.latencies.record(nanoseconds: duration.nanoseconds)
    }

    public mutating func recordDegradedAnswer() {
        self.degraded += 1
    }

    /// Closes the open interval into a point and opens the next one at `now`.
    @discardableResult
    public mutating func close(now: Date, gauges: Gauges) -> Point {
        var seconds = now.timeIntervalSince(self.openedAt)
        // A wall clock set back would make the rates negative or infinite: count the interval as configured.
        if seconds <= 0 { seconds = self.configuration.interval.seconds }
        let point = Point(
            at: now,
            intervalMs: (seconds * 1000).rounded(),
            requests: self.requests,
            degraded: self.degraded,
            requestsPerSecond: Double(self.requests) / seconds,
            degradedPerSecond: Double(self.degraded) / seconds,
            p99Ms: self.latencies.percentile(99).map { Double($0) / 1_000_000 },
            breakers: gauges.breakers,
            queueDepth: gauges.queueDepth
        )
        if self.ring.count < self.configuration.capacity {
            self.ring.append(point)
        } else {
            self.ring[self.oldest] = point
            self.oldest = (self.oldest + 1) % self.ring.count
        }
        self.openedAt = now
        self.requests = 0
        self.degraded = 0
        self.latencies = LatencyHistogram()
        return point
    }

    /// The points of the window that ends at `now`, oldest first.
    public func points(now: Date) -> [Point] {
        let start = now.addingDuration(.zero - self.configuration.window)
        return (self.ring[self.oldest...] + self.ring[..<self.oldest]).filter { $0.at > start }
    }
}

/// Latencies in buckets 1% wide, so that a percentile is within 1% of the exact one in bounded memory at
/// any request rate (about 1,700 buckets span 1 µs to 30 s).
struct LatencyHistogram: Sendable, Hashable {
    private static let logGrowth = log(1.01)
    private var buckets: [Int: Int] = [:]
    private(set) var count = 0
    private var maximum: Int64 = 0

    mutating func record(nanoseconds: Int64) {
        let value = max(1, nanoseconds)
        // Bucket i holds (1.01^(i-1), 1.01^i].
        let index = Int((log(Double(value)) / Self.logGrowth).rounded(.up))
        self.buckets[index, default: 0] += 1
        self.count += 1
        self.maximum = max(self.maximum, value)
    }

    /// The nearest-rank `percent`th percentile, in nanoseconds: the upper end of the bucket holding that rank,
    /// never above the largest value recorded; nil when nothing was recorded.
    func percentile(_ percent: Int) -> Int64? {
        guard self.count > 0 else { return nil }
        // ceil(percent × count / 100) in integers: in floating point 0.99 × 100 may round up to rank 100.
        let rank = max(1, (percent * self.count + 99) / 100)
        var seen = 0
        for index in self.buckets.keys.sorted() {
            seen += self.buckets[index]!
            if seen >= rank {
                return min(self.maximum, Int64(exp(Double(index) * Self.logGrowth).rounded(.up)))
            }
        }
        return self.maximum
    }
}
