/// A growing wait, as a pure value: `initial × factor^n`, capped at `maximum`, then shortened by up to
/// `jitter` of itself, in whole milliseconds. The one copy of the formula: the breaker's open time, the model
/// retry (`RetryPolicy`), the job retry (`JobRetryPolicy`), the worker restart backoff and the unsafe pool's
/// quiet period all use it.
public struct Backoff: Sendable, Hashable {
    /// The wait after the first event (n = 0); zero makes every wait zero.
    public var initial: Duration
    /// Growth per further event.
    public var factor: Double
    /// Ceiling of the wait, before jitter.
    public var maximum: Duration
    /// Fraction (0...1) of the wait that jitter may take away: 0.2 means 80–100 % of it.
    public var jitter: Double

    public init(initial: Duration, factor: Double = 2, maximum: Duration, jitter: Double = 0.2) {
        precondition(initial >= .zero, "initial must not be negative")
        precondition(factor >= 1, "factor must be at least 1")
        self.initial = initial
        self.factor = factor
        self.maximum = max(maximum, initial)
        self.jitter = min(max(jitter, 0), 1)
    }

    /// The wait after event `n` (0 for the first).
    /// - Parameter random: a number in 0...1; 0 keeps the full wait, 1 takes away all of `jitter`.
    public func delay(_ n: Int, random: Double) -> Duration {
        let maximum = self.maximum.seconds
        var seconds = self.initial.seconds
        // Grows step by step so a large n cannot overflow: it stops at the cap.
        var step = 0
        while step < n, self.factor > 1, seconds > 0, seconds < maximum {
            seconds *= self.factor
            step += 1
        }
        seconds = min(seconds, maximum) * (1 - self.jitter * min(max(random, 0), 1))
        return .milliseconds(Int64((seconds * 1000).rounded()))
    }
}
