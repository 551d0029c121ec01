import Foundation

/// A limit on counted events per caller: `maximum` per sliding `window`, for at most `maximumCallers` callers
/// remembered at once.
public struct RateLimit: Sendable, Hashable {
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

public enum RateLimitDecision: Sendable, Hashable {
    case allow(remaining: Int)
    /// How long until the caller's oldest counted request leaves the window.
    case reject(retryAfter: Duration)
}

/// A per-caller limit in memory, as a pure value: a sliding window of counted events per caller. The one limiter of the
/// server: heal requests (`ARCANOS_HEAL_RATE_LIMIT_MAX` per `ARCANOS_HEAL_RATE_LIMIT_WINDOW_MS`; plan-only
/// requests count too, each may cost a model call) and failed automation-secret attempts on
/// `POST /confirm/tokens` (`ARCANOS_CONFIRM_TOKEN_RATE_LIMIT_MAX` per `…_WINDOW_MS`, per client address).
/// `SharedStateStore`s keep the instants in a database and decide with its static functions.
public struct SlidingWindowRateLimiter<Instant: InstantProtocol>: Sendable where Instant.Duration == Duration {
    public typealias Configuration = RateLimit
    public typealias Decision = RateLimitDecision

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
        let decision = Self.acquire(&instants, now: now, configuration: self.configuration)
        self.accepted[caller] = instants.isEmpty ? nil : instants
        if self.accepted.count > self.configuration.maximumCallers {
            self.evict(now: now, keeping: caller)
        }
        return decision
    }

    /// How long until `caller` may be counted again; nil when it is under its limit now. Counts nothing, so a
    /// caller can be checked before the work whose failure is what gets counted.
    public mutating func retryAfter(caller: String, now: Instant) -> Duration? {
        guard var instants = self.accepted[caller] else { return nil }
        let retryAfter = Self.retryAfter(&instants, now: now, configuration: self.configuration)
        self.accepted[caller] = instants.isEmpty ? nil : instants
        return retryAfter
    }

    /// The decision for one caller whose counted instants, oldest first, are `instants`: drops those that left
    /// the window and, when the caller is under its limit, counts `now`. What stores that keep the instants
    /// elsewhere (a database row per caller) decide with.
    public static func acquire(_ instants: inout [Instant], now: Instant, configuration: Configuration) -> Decision {
        if let retryAfter = Self.retryAfter(&instants, now: now, configuration: configuration) {
            return .reject(retryAfter: retryAfter)
        }
        instants.append(now)
        return .allow(remaining: configuration.maximum - instants.count)
    }

    /// `retryAfter(caller:now:)` for one caller's `instants`, which it prunes to the window.
    public static func retryAfter(_ instants: inout [Instant], now: Instant, configuration: Configuration) -> Duration?
    {
        instants.removeAll { $0.duration(to: now) >= configuration.window }
        guard instants.count >= configuration.maximum else { return nil }
        return max(now.duration(to: instants[0].advanced(by: configuration.window)), .zero)
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

/// A wall-clock instant as an `InstantProtocol`, for limits several replicas count together: their monotonic
/// clocks do not agree, their wall clocks do (within NTP's error, far below a limit's window).
public struct WallClockInstant: InstantProtocol {
    public var date: Date

    public init(_ date: Date) {
        self.date = date
    }

    public func advanced(by duration: Duration) -> WallClockInstant {
        WallClockInstant(self.date.addingTimeInterval(duration.seconds))
    }

    public func duration(to other: WallClockInstant) -> Duration {
        .microseconds(Int64(((other.date.timeIntervalSince1970 - self.date.timeIntervalSince1970) * 1e6).rounded()))
    }

    public static func < (lhs: WallClockInstant, rhs: WallClockInstant) -> Bool { lhs.date < rhs.date }
}

extension SlidingWindowRateLimiter where Instant == WallClockInstant {
    /// `acquire(_:now:configuration:)` over instants as a database keeps them (milliseconds since 1970).
    public static func acquire(
        storedMilliseconds hits: inout [Int64],
        now: Date,
        configuration: Configuration
    ) -> Decision {
        var instants = hits.map { WallClockInstant(Date(storedMilliseconds: $0)) }
        let decision = Self.acquire(&instants, now: WallClockInstant(now), configuration: configuration)
        hits = instants.map(\.date.storedMilliseconds)
        return decision
    }

    /// `retryAfter(_:now:configuration:)` over instants as a database keeps them (milliseconds since 1970).
    public static func retryAfter(
        storedMilliseconds hits: inout [Int64],
        now: Date,
        configuration: Configuration
    ) -> Duration? {
        var instants = hits.map { WallClockInstant(Date(storedMilliseconds: $0)) }
        let retryAfter = Self.retryAfter(&instants, now: WallClockInstant(now), configuration: configuration)
        hits = instants.map(\.date.storedMilliseconds)
        return retryAfter
    }
}
