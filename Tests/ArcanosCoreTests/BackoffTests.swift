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
