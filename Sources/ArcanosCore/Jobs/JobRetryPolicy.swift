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

    /// Doubling from `initialDelay`, capped at `maximumDelay`, scaled into [50 %, 100 %] by jitter.
    public var backoff: Backoff {
        Backoff(initial: min(self.initialDelay, self.maximumDelay), maximum: self.maximumDelay, jitter: 0.5)
    }

    /// The delay after failed attempt number `attempt` (1-based); `jitter` in 0...1 scales it into [50 %, 100 %].
    public func delay(afterAttempt attempt: Int, jitter: Double) -> Duration {
        self.backoff.delay(attempt - 1, random: 1 - jitter)
    }
}
