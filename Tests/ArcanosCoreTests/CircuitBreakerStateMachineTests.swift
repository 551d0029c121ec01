import ArcanosCore
import Testing

@Suite struct CircuitBreakerStateMachineTests {
    typealias Breaker = CircuitBreakerStateMachine<ContinuousClock.Instant>
    let start = ContinuousClock.now

    @Test func staysClosedBelowTheThreshold() {
        var breaker = Breaker(configuration: .init(failureThreshold: 3, openDuration: .seconds(30)))
        breaker.recordFailure(now: self.start)
        breaker.recordFailure(now: self.start)
        #expect(breaker.decide(now: self.start) == .allow)
        #expect(breaker.phase == .closed)
    }

    @Test func aSuccessResetsTheConsecutiveFailureCount() {
        var breaker = Breaker(configuration: .init(failureThreshold: 2))
        breaker.recordFailure(now: self.start)
        breaker.recordSuccess()
        breaker.recordFailure(now: self.start)
        #expect(breaker.decide(now: self.start) == .allow)
    }

    @Test func opensAfterThresholdFailuresAndRejectsWithTheRemainingTime() {
        var breaker = Breaker(configuration: .init(failureThreshold: 5, openDuration: .seconds(30)))
        for _ in 0..<5 { breaker.recordFailure(now: self.start) }
        #expect(breaker.phase == .open)
        #expect(breaker.openings == 1)
        #expect(breaker.decide(now: self.start + .seconds(10)) == .reject(retryAfter: .seconds(20)))
        #expect(breaker.rejection(now: self.start + .seconds(29)) == .seconds(1))
    }

    @Test func defaultThresholdIsAtMostFive() {
        var breaker = Breaker()
        for _ in 0..<5 { breaker.recordFailure(now: self.start) }
        #expect(breaker.phase == .open)
    }

    @Test func letsExactlyOneProbeThroughAfterTheCoolDown() {
        var breaker = Breaker(configuration: .init(failureThreshold: 1, openDuration: .seconds(30)))
        breaker.recordFailure(now: self.start)
        let later = self.start + .seconds(31)
        #expect(breaker.decide(now: later) == .allowProbe)
        #expect(breaker.decide(now: later) == .reject(retryAfter: .zero))
        #expect(breaker.decide(now: later + .seconds(5)) == .reject(retryAfter: .zero))
        #expect(breaker.phase == .halfOpen)
    }

    @Test func aSuccessfulProbeClosesTheBreaker() {
        var breaker = Breaker(configuration: .init(failureThreshold: 1, openDuration: .seconds(30)))
        breaker.recordFailure(now: self.start)
        #expect(breaker.decide(now: self.start + .seconds(30)) == .allowProbe)
        breaker.recordSuccess()
        #expect(breaker.phase == .closed)
        #expect(breaker.decide(now: self.start + .seconds(30)) == .allow)
    }

    @Test func aFailedProbeReopensForAFullCoolDown() {
        var breaker = Breaker(configuration: .init(failureThreshold: 1, openDuration: .seconds(30)))
        breaker.recordFailure(now: self.start)
        let probeTime = self.start + .seconds(30)
        #expect(breaker.decide(now: probeTime) == .allowProbe)
        breaker.recordFailure(now: probeTime)
        #expect(breaker.openings == 2)
        #expect(breaker.decide(now: probeTime + .seconds(1)) == .reject(retryAfter: .seconds(29)))
    }

    @Test func aCancelledProbeFreesTheSlotWithoutCounting() {
        var breaker = Breaker(configuration: .init(failureThreshold: 1, openDuration: .seconds(30)))
        breaker.recordFailure(now: self.start)
        let later = self.start + .seconds(30)
        #expect(breaker.decide(now: later) == .allowProbe)
        breaker.recordNeutral()
        #expect(breaker.openings == 1)
        #expect(breaker.decide(now: later) == .allowProbe)
    }

    @Test func aLateFailureWhileOpenDoesNotExtendTheOpenPeriod() {
        var breaker = Breaker(configuration: .init(failureThreshold: 1, openDuration: .seconds(30)))
        breaker.recordFailure(now: self.start)
        breaker.recordFailure(now: self.start + .seconds(20))
        #expect(breaker.decide(now: self.start + .seconds(30)) == .allowProbe)
    }
}
