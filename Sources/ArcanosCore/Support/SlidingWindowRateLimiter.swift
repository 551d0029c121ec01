/// A per-caller limit, as a pure value: a sliding window of counted events per caller. The one limiter of the
/// server: heal requests (`ARCANOS_HEAL_RATE_LIMIT_MAX` per `ARCANOS_HEAL_RATE_LIMIT_WINDOW_MS`; plan-only
/// requests count too, each may cost a model call) and failed automation-secret attempts on
/// `POST /confirm/tokens` (`ARCANOS_CONFIRM_TOKEN_RATE_LIMIT_MAX` per `…_WINDOW_MS`, per client address).
public struct SlidingWindowRateLimiter<Instant: InstantProtocol>: Sendable where Instant.Duration == Duration {
    public struct Configuration: Sendable, Hashable {
        /// Events a caller may have counted per window.
        public var maximum: Int
        public var window: Duration
        /// Callers remembered at once; the least recently seen is forgotten first, so memory stays bounded.
        public var maximumCallers: Int

        public init(maximum: Int = 5, window: Duration = .seconds(60), maximumCallers: Int = 10_000) {
            precondition(maximum >= 1 && maximumCallers >= 1)
            self.maximum = maximum
            self.window = window
            self.maximumCallers = maximumCallers
        }
    }

    public enum Decision: Sendable, Hashable {
        case allow(remaining: Int)
        /// How long until the caller's oldest counted request leaves the window.
        case reject(retryAfter: Duration)
    }

    public let configuration: Configuration
    /// Accepted request instants per caller, oldest first.
    private var accepted: [String: [Instant]] = [:]

    public init(configuration: Configuration = .init()) {
        self.configuration = configuration
    }

    public var trackedCallers: Int { self.accepted.count }

    /// Counts a request from `caller` made at `now` if the caller is under its limit.
    public mutating func acquire(caller: String, now: Instant) -> Decision {
        if let retryAfter = self.retryAfter(caller: caller, now: now) { return .reject(retryAfter: retryAfter) }
        var instants = self.accepted[caller, default: []]
        instants.append(now)
        self.accepted[caller] = instants
        if self.accepted.count > self.configuration.maximumCallers {
            self.evict(now: now, keeping: caller)
        }
        return .allow(remaining: self.configuration.maximum - instants.count)
    }

    /// How long until `caller` may be counted again; nil when it is under its limit now. Counts nothing, so a
    /// caller can be checked before the work whose failure is what gets counted.
    public mutating func retryAfter(caller: String, now: Instant) -> Duration? {
        guard var instants = self.accepted[caller] else { return nil }
        instants.removeAll { $0.duration(to: now) >= self.configuration.window }
        self.accepted[caller] = instants.isEmpty ? nil : instants
        guard instants.count >= self.configuration.maximum else { return nil }
        return max(now.duration(to: instants[0].advanced(by: self.configuration.window)), .zero)
    }

    private mutating func evict(now: Instant, keeping caller: String) {
        self.accepted = self.accepted.filter { key, instants in
            key == caller || instants.contains { $0.duration(to: now) < self.configuration.window }
        }
        while self.accepted.count > self.configuration.maximumCallers {
            guard
                let stalest = self.accepted.filter({ $0.key != caller })
                    .min(by: { ($0.value.last ?? now) < ($1.value.last ?? now) })?.key
            else { break }
            self.accepted[stalest] = nil
        }
    }
}
