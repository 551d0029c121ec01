import Foundation

/// How long a job waits for an unavailable model before it fails (`JOB_MODEL_WAIT_MS`), and how long each
/// wait is. Pure: every call takes `now`.
public struct ModelWaitPolicy: Sendable, Hashable {
    /// A job still waiting this long after it was enqueued fails for good.
    public var maximumWait: Duration

    public init(maximumWait: Duration = .seconds(3600)) {
        self.maximumWait = maximumWait
    }

    public enum Decision: Sendable, Hashable {
        /// Hand the job back, uncharged, claimable after this delay.
        case wait(Duration)
        /// Fail it for good, with this message.
        case giveUp(String)
    }

    /// - Parameters:
    ///   - retryAfter: when the model may answer again (its breaker's wait, or the provider's `Retry-After`).
    ///   - backoff: the delay when the model said nothing: the job retry policy's first delay, so a failing
    ///     model is not called in a tight loop before its breaker opens.
    public func decide(job: Job, retryAfter: Duration?, backoff: Duration, now: Date) -> Decision {
        let waited = now.timeIntervalSince(job.createdAt)
        guard waited < self.maximumWait.seconds else {
            return .giveUp(
                "the model was unavailable for longer than JOB_MODEL_WAIT_MS (\(self.maximumWait.milliseconds) ms)"
            )
        }
        return .wait(max(retryAfter ?? .zero, backoff))
    }
}
