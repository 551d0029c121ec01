/// How long a failed job waits before its next attempt: exponential in the attempt number, capped, with
/// jitter so that a burst of failures does not come back as a burst.
public struct JobRetryPolicy: Sendable, Hashable {
    /// Delay after the first failed attempt.
    public var initialDelay: Duration
    public var maximumDelay: Duration

    public init(initialDelay: Duration = .milliseconds(500), maximumDelay: Duration = .seconds(60)) {
        self.initialDelay = initialDelay
        self.maximumDelay = maximumDelay
    }

    /// The delay after failed attempt number `attempt` (1-based); `jitter` in 0...1 scales it into [50 %, 100 %].
    public func delay(afterAttempt attempt: Int, jitter: Double) -> Duration {
        guard self.initialDelay > .zero else { return .zero }
        let exponent = min(max(attempt - 1, 0), 30)
        let raw = self.initialDelay * (1 << exponent)
        let capped = min(raw, self.maximumDelay)
        return capped * (0.5 + 0.5 * min(max(jitter, 0), 1))
    }
}
