import ArcanosCore
import Testing

@Suite struct RetryPolicyTests {
    let policy = RetryPolicy(
        maxAttempts: 3,
        baseDelay: .milliseconds(100),
        maxDelay: .seconds(2),
        maxRetryAfter: .seconds(10)
    )

    @Test(arguments: [LLMFailure.Kind.rejected, .invalidResponse, .notConfigured, .circuitOpen])
    func neverRetriesNonRetryableFailures(kind: LLMFailure.Kind) {
        let failure = LLMFailure(kind, statusCode: kind == .rejected ? 400 : nil)
        #expect(self.policy.delay(after: failure, attempt: 1, remaining: .seconds(60), jitter: 0.5) == nil)
    }

    @Test(arguments: [LLMFailure.Kind.rateLimited, .serverError, .timeout, .connection])
    func retriesRetryableFailuresWithBackoffWithinBounds(kind: LLMFailure.Kind) throws {
        let first = try #require(
            self.policy.delay(after: LLMFailure(kind), attempt: 1, remaining: .seconds(60), jitter: 0)
        )
        let firstMax = try #require(
            self.policy.delay(after: LLMFailure(kind), attempt: 1, remaining: .seconds(60), jitter: 1)
        )
        #expect(first == .milliseconds(50))
        #expect(firstMax == .milliseconds(100))
        let second = try #require(
            self.policy.delay(after: LLMFailure(kind), attempt: 2, remaining: .seconds(60), jitter: 1)
        )
        #expect(second == .milliseconds(200))
    }

    @Test func stopsAfterTheLastAttempt() {
        #expect(
            self.policy.delay(after: LLMFailure(.serverError), attempt: 3, remaining: .seconds(60), jitter: 0) == nil
        )
    }

    @Test func backoffIsCappedAtTheMaximumDelay() {
        let policy = RetryPolicy(maxAttempts: 40, baseDelay: .milliseconds(100), maxDelay: .seconds(2))
        #expect(
            policy.delay(after: LLMFailure(.serverError), attempt: 30, remaining: .seconds(60), jitter: 1)
                == .seconds(2)
        )
    }

    @Test func honoursRetryAfterWhenItIsLongerThanTheBackoff() {
        let failure = LLMFailure(.rateLimited, statusCode: 429, retryAfter: .seconds(3))
        #expect(self.policy.delay(after: failure, attempt: 1, remaining: .seconds(60), jitter: 0) == .seconds(3))
    }

    @Test func givesUpWhenRetryAfterIsLongerThanTheMaximumWait() {
        let failure = LLMFailure(.rateLimited, statusCode: 429, retryAfter: .seconds(30))
        #expect(self.policy.delay(after: failure, attempt: 1, remaining: .seconds(60), jitter: 0) == nil)
    }

    @Test func givesUpWhenTheWaitWouldReachTheDeadline() {
        let failure = LLMFailure(.rateLimited, statusCode: 429, retryAfter: .seconds(3))
        #expect(self.policy.delay(after: failure, attempt: 1, remaining: .seconds(2), jitter: 0) == nil)
        #expect(
            self.policy.delay(after: LLMFailure(.serverError), attempt: 1, remaining: .milliseconds(40), jitter: 0)
                == nil
        )
    }
}
