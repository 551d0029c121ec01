/// The per-caller limit on heal requests (`ARCANOS_HEAL_RATE_LIMIT_MAX` per
/// `ARCANOS_HEAL_RATE_LIMIT_WINDOW_MS`), as a pure value: a sliding window of accepted requests per caller.
/// Plan-only requests count too: each one may cost a model call.
public struct HealRateLimiter<Instant: InstantProtocol>: Sendable where Instant.Duration == Duration {
    public struct Configuration: Sendable, Hashable {
        /// Requests a caller may make per window.
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
        var instants = self.accepted[caller, default: []]
        instants.removeAll { $0.duration(to: now) >= self.configuration.window }
        if instants.count >= self.configuration.maximum {
            self.accepted[caller] = instants
            let oldest = instants[0]
            return .reject(retryAfter: max(now.duration(to: oldest.advanced(by: self.configuration.window)), .zero))
        }
        instants.append(now)
        self.accepted[caller] = instants
        if self.accepted.count > self.configuration.maximumCallers {
            self.evict(now: now, keeping: caller)
        }
        return .allow(remaining: self.configuration.maximum - instants.count)
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
