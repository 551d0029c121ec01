import ArcanosCore
import Testing

@Suite struct SlidingWindowRateLimiterTests {
    let start = ContinuousClock.now

    @Test func allowsMaximumPerWindowThenRejectsWithRetryAfter() {
        var limiter = SlidingWindowRateLimiter<ContinuousClock.Instant>(
            configuration: .init(maximum: 5, window: .seconds(60))
        )
        for index in 0..<5 {
            #expect(limiter.acquire(caller: "a", now: self.start + .seconds(index)) == .allow(remaining: 4 - index))
        }
        #expect(limiter.acquire(caller: "a", now: self.start + .seconds(10)) == .reject(retryAfter: .seconds(50)))
        // A rejected request does not count: the oldest one still decides when the caller may come back.
        #expect(limiter.acquire(caller: "a", now: self.start + .seconds(59)) == .reject(retryAfter: .seconds(1)))
        #expect(limiter.acquire(caller: "a", now: self.start + .seconds(60)) == .allow(remaining: 0))
    }

    @Test func retryAfterChecksWithoutCounting() {
        var limiter = SlidingWindowRateLimiter<ContinuousClock.Instant>(
            configuration: .init(maximum: 2, window: .seconds(10))
        )
        for _ in 0..<5 { #expect(limiter.retryAfter(caller: "a", now: self.start) == nil) }
        _ = limiter.acquire(caller: "a", now: self.start)
        _ = limiter.acquire(caller: "a", now: self.start + .seconds(4))
        #expect(limiter.retryAfter(caller: "a", now: self.start + .seconds(6)) == .seconds(4))
        #expect(limiter.retryAfter(caller: "a", now: self.start + .seconds(10)) == nil)
    }

    @Test func countsCallersSeparately() {
        var limiter = SlidingWindowRateLimiter<ContinuousClock.Instant>(
            configuration: .init(maximum: 1, window: .seconds(60))
        )
        #expect(limiter.acquire(caller: "a", now: self.start) == .allow(remaining: 0))
        #expect(limiter.acquire(caller: "b", now: self.start) == .allow(remaining: 0))
        #expect(limiter.acquire(caller: "a", now: self.start) == .reject(retryAfter: .seconds(60)))
    }

    @Test func theWindowSlides() {
        var limiter = SlidingWindowRateLimiter<ContinuousClock.Instant>(
            configuration: .init(maximum: 2, window: .seconds(10))
        )
        _ = limiter.acquire(caller: "a", now: self.start)
        _ = limiter.acquire(caller: "a", now: self.start + .seconds(5))
        #expect(limiter.acquire(caller: "a", now: self.start + .seconds(9)) == .reject(retryAfter: .seconds(1)))
        #expect(limiter.acquire(caller: "a", now: self.start + .seconds(10)) == .allow(remaining: 0))
        #expect(limiter.acquire(caller: "a", now: self.start + .seconds(14)) == .reject(retryAfter: .seconds(1)))
    }

    @Test func remembersABoundedNumberOfCallers() {
        var limiter = SlidingWindowRateLimiter<ContinuousClock.Instant>(
            configuration: .init(maximum: 1, window: .seconds(60), maximumCallers: 100)
        )
        for index in 0..<10_000 {
            _ = limiter.acquire(caller: "caller-\(index)", now: self.start + .milliseconds(index))
        }
        #expect(limiter.trackedCallers <= 100)
        // The most recent caller is still limited.
        #expect(limiter.acquire(caller: "caller-9999", now: self.start + .seconds(11)) != .allow(remaining: 0))
    }
}
