/// When to try the same model again, as a pure function: exponential backoff with jitter, retryable
/// failures only, `Retry-After` honoured, and never past the caller's deadline.
public struct RetryPolicy: Sendable, Hashable {
    /// Attempts per model, the first included.
    public var maxAttempts: Int
    /// Backoff before the second attempt; doubles after that.
    public var baseDelay: Duration
    /// Ceiling of the exponential backoff.
    public var maxDelay: Duration
    /// A `Retry-After` longer than this is not waited for: the call fails over instead.
    public var maxRetryAfter: Duration

    public init(
        maxAttempts: Int = 3,
        baseDelay: Duration = .milliseconds(100),
        maxDelay: Duration = .seconds(2),
        maxRetryAfter: Duration = .seconds(10)
    ) {
        self.maxAttempts = maxAttempts
        self.baseDelay = baseDelay
        self.maxDelay = maxDelay
        self.maxRetryAfter = maxRetryAfter
    }

    /// Doubling from `baseDelay`, capped at `maxDelay`, half of it jittered ("equal jitter").
    public var backoff: Backoff {
        Backoff(initial: min(self.baseDelay, self.maxDelay), maximum: self.maxDelay, jitter: 0.5)
    }

    /// The wait before attempt `attempt + 1`, or nil when the call should not be retried.
    /// - Parameters:
    ///   - attempt: how many attempts have been made (1 after the first failure).
    ///   - remaining: time left before the caller's deadline.
    ///   - jitter: a number in 0...1; half of the backoff is scaled by it ("equal jitter").
    public func delay(after failure: LLMFailure, attempt: Int, remaining: Duration, jitter: Double) -> Duration? {
        guard failure.kind.isRetryable, !failure.skipsRetries, attempt < self.maxAttempts else { return nil }
        var delay = self.backoff.delay(attempt - 1, random: 1 - jitter)
        if let retryAfter = failure.retryAfter {
            guard retryAfter <= self.maxRetryAfter else { return nil }
            delay = max(delay, retryAfter)
        }
        // Waiting only to run out of time before the next answer would arrive is pointless.
        guard delay < remaining else { return nil }
        return delay
    }
}
