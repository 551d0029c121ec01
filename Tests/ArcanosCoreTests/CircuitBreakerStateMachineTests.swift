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

    @Test func aFailedProbeReopensForTwiceAsLong() {
        var breaker = Breaker(configuration: .init(failureThreshold: 1, openDuration: .seconds(30), jitter: 0))
        breaker.recordFailure(now: self.start)
        let probeTime = self.start + .seconds(30)
        #expect(breaker.decide(now: probeTime) == .allowProbe)
        breaker.recordFailure(now: probeTime)
        #expect(breaker.openings == 2)
        #expect(breaker.failedProbes == 1)
        #expect(breaker.decide(now: probeTime + .seconds(1)) == .reject(retryAfter: .seconds(59)))
    }

    /// Issue 11: open about 1 s, doubling with each failed probe, capped near 60 s, reset by a success.
    @Test("issue 11: the open time doubles per failed probe up to the cap and a success resets it")
    func openTimeGrowsToTheCapAndResets() throws {
        var breaker = Breaker(
            configuration: .init(
                failureThreshold: 1,
                openDuration: .seconds(1),
                maximumOpenDuration: .seconds(60),
                jitter: 0
            )
        )
        var now = self.start
        breaker.recordFailure(now: now)
        var openTimes: [Duration] = []
        for _ in 0..<8 {
            let wait = try #require(breaker.rejection(now: now))
            openTimes.append(wait)
            #expect(breaker.probeDue(now: now) == false)
            #expect(breaker.nextProbe(now: now) == now + wait)
            now = now + wait
            #expect(breaker.probeDue(now: now))
            #expect(breaker.decide(now: now) == .allowProbe)
            breaker.recordFailure(now: now)
        }
        #expect(openTimes.map { $0.seconds } == [1, 2, 4, 8, 16, 32, 60, 60])
        // The model is back: the next probe succeeds, and the next opening starts from 1 s again.
        now = now + .seconds(60)
        #expect(breaker.decide(now: now) == .allowProbe)
        breaker.recordSuccess()
        #expect(breaker.failedProbes == 0)
        #expect(breaker.nextProbe(now: now) == nil)
        breaker.recordFailure(now: now)
        #expect(breaker.rejection(now: now) == .seconds(1))
    }

    @Test func jitterOnlyShortensTheOpenTimeByItsFraction() {
        var breaker = Breaker(configuration: .init(failureThreshold: 1, openDuration: .seconds(10), jitter: 0.2))
        breaker.recordFailure(now: self.start, jitter: 1)
        #expect(breaker.rejection(now: self.start) == .seconds(8))
        var other = Breaker(configuration: .init(failureThreshold: 1, openDuration: .seconds(10), jitter: 0.2))
        other.recordFailure(now: self.start, jitter: 0.5)
        #expect(other.rejection(now: self.start) == .seconds(9))
    }

    @Test func onlyOneProbeIsOutAndTheProberSeesNoneDueMeanwhile() {
        var breaker = Breaker(configuration: .init(failureThreshold: 1, openDuration: .seconds(1), jitter: 0))
        breaker.recordFailure(now: self.start)
        let due = self.start + .seconds(1)
        #expect(breaker.decide(now: due) == .allowProbe)
        #expect(breaker.probeDue(now: due) == false)
        #expect(breaker.nextProbe(now: due) == nil)
        #expect(breaker.decide(now: due) == .reject(retryAfter: .zero))
        // A probe that said nothing (cancelled) frees the slot: due again at once.
        breaker.recordNeutral()
        #expect(breaker.probeDue(now: due))
        #expect(breaker.nextProbe(now: due) == due)
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

    // MARK: Another replica's breaker

    @Test func adoptsAnotherReplicasOpeningAndItsProbeCount() {
        var breaker = Breaker(configuration: .init(failureThreshold: 5, openDuration: .seconds(1), jitter: 0))
        breaker.adoptOpen(until: self.start + .seconds(8), failedProbes: 3)
        #expect(breaker.phase == .open && breaker.openings == 1)
        #expect(breaker.decide(now: self.start + .seconds(2)) == .reject(retryAfter: .seconds(6)))
        #expect(breaker.decide(now: self.start + .seconds(8)) == .allowProbe)
        // This replica's probe fails: the next open time grows from the cluster's count (1 s · 2^4).
        breaker.recordFailure(now: self.start + .seconds(8))
        #expect(breaker.rejection(now: self.start + .seconds(8)) == .seconds(16))
    }

    @Test func aProbeOfItsOwnStillOutIsNotOverruled() {
        var breaker = Breaker(configuration: .init(failureThreshold: 1, openDuration: .seconds(1)))
        breaker.recordFailure(now: self.start)
        #expect(breaker.decide(now: self.start + .seconds(1)) == .allowProbe)
        breaker.adoptOpen(until: self.start + .seconds(30), failedProbes: 0)
        #expect(breaker.state == .halfOpen(probeInFlight: true))
        breaker.recordSuccess()
        #expect(breaker.phase == .closed)
    }

    @Test func adoptsAnotherReplicasClosing() {
        var breaker = Breaker(configuration: .init(failureThreshold: 1, openDuration: .seconds(30)))
        breaker.recordFailure(now: self.start)
        breaker.adoptClosed()
        #expect(breaker.decide(now: self.start) == .allow)
        #expect(breaker.failedProbes == 0)
    }

    @Test func aDeferredProbeWaitsWithoutCountingAFailure() {
        var breaker = Breaker(configuration: .init(failureThreshold: 1, openDuration: .seconds(1), jitter: 0))
        breaker.recordFailure(now: self.start)
        #expect(breaker.decide(now: self.start + .seconds(1)) == .allowProbe)
        breaker.deferProbe(until: self.start + .seconds(16))
        #expect(breaker.decide(now: self.start + .seconds(2)) == .reject(retryAfter: .seconds(14)))
        #expect(breaker.failedProbes == 0 && breaker.openings == 1)
        // Deferring is only for a probe handed out: a closed breaker stays closed.
        var closed = Breaker()
        closed.deferProbe(until: self.start + .seconds(16))
        #expect(closed.phase == .closed)
    }
}
