import ArcanosCore
import Testing

@Suite struct BackoffTests {
    @Test func growsByTheFactorUpToTheCap() {
        let backoff = Backoff(initial: .milliseconds(500), factor: 2, maximum: .seconds(3), jitter: 0)
        #expect(
            (0..<6).map { backoff.delay($0, random: 0) } == [
                .milliseconds(500), .seconds(1), .seconds(2), .seconds(3), .seconds(3), .seconds(3),
            ]
        )
        #expect(backoff.delay(10_000, random: 0) == .seconds(3))
    }

    @Test func jitterTakesAwayAtMostItsFraction() {
        let backoff = Backoff(initial: .seconds(10), maximum: .seconds(60), jitter: 0.5)
        #expect(backoff.delay(0, random: 0) == .seconds(10))
        #expect(backoff.delay(0, random: 1) == .seconds(5))
        #expect(backoff.delay(0, random: 7) == .seconds(5))
        #expect(backoff.delay(0, random: -1) == .seconds(10))
    }
}

@Suite struct BackoffSharingTests {
    @Test func aZeroInitialWaitIsAlwaysZero() {
        let backoff = Backoff(initial: .zero, maximum: .seconds(10), jitter: 0.5)
        #expect(backoff.delay(0, random: 0) == .zero && backoff.delay(Int.max, random: 1) == .zero)
    }

    @Test func aFactorOfOneNeverGrowsAndAHugeNIsCheap() {
        #expect(
            Backoff(initial: .seconds(1), factor: 1, maximum: .seconds(9), jitter: 0).delay(Int.max, random: 0)
                == .seconds(1)
        )
        #expect(
            Backoff(initial: .milliseconds(1), maximum: .seconds(9), jitter: 0).delay(Int.max, random: 0) == .seconds(9)
        )
    }

    /// The restart, job retry and model retry policies are the same doubling: each keeps its own numbers and
    /// "equal jitter" (a random 1 keeps the whole wait, 0 half of it), and an initial wait above the cap is capped.
    @Test func everyPolicyIsOneBackoff() {
        let restart = WorkerRestartPolicy(initialBackoff: .milliseconds(100), maximumBackoff: .seconds(10))
        let job = JobRetryPolicy(initialDelay: .milliseconds(100), maximumDelay: .seconds(10))
        let model = RetryPolicy(baseDelay: .milliseconds(100), maxDelay: .seconds(10))
        #expect(restart.backoff == job.backoff && job.backoff == model.backoff)
        #expect(job.backoff == Backoff(initial: .milliseconds(100), maximum: .seconds(10), jitter: 0.5))
        #expect(JobRetryPolicy(initialDelay: .seconds(600)).delay(afterAttempt: 1, jitter: 1) == .seconds(60))
        #expect(
            RetryPolicy(baseDelay: .seconds(5), maxDelay: .seconds(2)).delay(
                after: LLMFailure(.serverError),
                attempt: 1,
                remaining: .seconds(60),
                jitter: 1
            ) == .seconds(2)
        )
    }
}
