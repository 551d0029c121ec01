import ArcanosCore
import Testing

@Suite struct AdmissionQueueTests {
    typealias Queue = AdmissionQueue<ContinuousClock.Instant>
    let start = ContinuousClock.now

    @Test func admitsUpToTheLimitThenQueuesInOrderAndHandsSlotsToTheOldest() {
        var queue = Queue(configuration: .init(limit: 2, maximumWaiting: 5))
        let deadline = self.start + .seconds(10)
        #expect(queue.arrive(id: 1, now: self.start, deadline: deadline) == .admit)
        #expect(queue.arrive(id: 2, now: self.start, deadline: deadline) == .admit)
        #expect(queue.arrive(id: 3, now: self.start, deadline: deadline) == .wait)
        #expect(queue.arrive(id: 4, now: self.start, deadline: deadline) == .wait)
        #expect(queue.release(heldFor: .seconds(2)) == 3)
        #expect(queue.inFlight == 2)
        #expect(queue.abandon(id: 4) == true)
        #expect(queue.release(heldFor: .seconds(2)) == nil)
        #expect(queue.inFlight == 1)
        // A waiter already granted cannot be abandoned: it holds a slot.
        #expect(queue.abandon(id: 3) == false)
    }

    @Test func aFullQueueTurnsCallersAwayAtOnce() {
        var queue = Queue(configuration: .init(limit: 1, maximumWaiting: 1))
        let deadline = self.start + .seconds(10)
        #expect(queue.arrive(id: 1, now: self.start, deadline: deadline) == .admit)
        #expect(queue.arrive(id: 2, now: self.start, deadline: deadline) == .wait)
        #expect(queue.arrive(id: 3, now: self.start, deadline: deadline) == .reject(retryAfter: .zero))
    }

    /// Issue 11: when the wait would overrun the deadline, answer at once instead of waiting for it.
    @Test("issue 11: a wait that would overrun the deadline is rejected at once")
    func aWaitLongerThanTheDeadlineIsRejectedAtOnce() {
        var queue = Queue(configuration: .init(limit: 2, maximumWaiting: 100))
        let far = self.start + .seconds(60)
        #expect(queue.arrive(id: 1, now: self.start, deadline: far) == .admit)
        #expect(queue.arrive(id: 2, now: self.start, deadline: far) == .admit)
        #expect(queue.release(heldFor: .seconds(2)) == nil)
        #expect(queue.arrive(id: 3, now: self.start, deadline: far) == .admit)
        // Calls take 2 s and 2 run at once: the 4th waiter in line expects (4 × 2 s) / 2 = 4 s.
        for id in 4...6 { #expect(queue.arrive(id: UInt64(id), now: self.start, deadline: far) == .wait) }
        let soon = self.start + .seconds(3)
        #expect(queue.arrive(id: 7, now: self.start, deadline: soon) == .reject(retryAfter: .seconds(4)))
        #expect(queue.arrive(id: 8, now: self.start, deadline: far) == .wait)
        #expect(queue.arrive(id: 9, now: soon, deadline: soon) == .reject(retryAfter: .seconds(5)))
    }
}

@Suite(.timeLimit(.minutes(1))) struct AdmissionLimiterTests {
    /// Runs `body` while another task holds one slot of `limiter`; `body` frees it by calling its argument
    /// (or it is freed after `body`).
    func whileASlotIsHeld(
        _ limiter: AdmissionLimiter,
        _ body: @Sendable (_ free: @Sendable () -> Void) async throws -> Void
    ) async throws {
        let (release, releaseNow) = AsyncStream.makeStream(of: Void.self)
        let (entered, enteredNow) = AsyncStream.makeStream(of: Void.self)
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask {
                try await limiter.withPermit(until: .now + .seconds(30)) {
                    enteredNow.yield()
                    for await _ in release { break }
                }
            }
            var iterator = entered.makeAsyncIterator()
            await iterator.next()
            try await body { releaseNow.yield() }
            releaseNow.yield()
            try await group.waitForAll()
        }
    }

    @Test func aWaiterRunsOnceASlotIsFreed() async throws {
        let limiter = AdmissionLimiter(configuration: .init(limit: 1))
        try await self.whileASlotIsHeld(limiter) { free in
            let waiter = Task { try await limiter.withPermit(until: .now + .seconds(30)) { 2 } }
            while limiter.snapshot.waiting == 0 { await Task.yield() }
            #expect(limiter.snapshot.inFlight == 1)
            free()
            let value = try await waiter.value
            #expect(value == 2)
        }
        #expect(limiter.snapshot.inFlight == 0)
        #expect(limiter.snapshot.shed == 0)
    }

    @Test func aWaiterIsTurnedAwayOverloadedAtItsDeadline() async throws {
        let limiter = AdmissionLimiter(configuration: .init(limit: 1))
        try await self.whileASlotIsHeld(limiter) { _ in
            let started = ContinuousClock.now
            let error = await #expect(throws: LLMFailure.self) {
                try await limiter.withPermit(until: .now + .milliseconds(200)) {}
            }
            #expect(error?.kind == .overloaded)
            #expect(started.duration(to: .now) >= .milliseconds(200))
            #expect(limiter.snapshot.shed == 1)
            #expect(limiter.snapshot.waiting == 0)
        }
        #expect(limiter.snapshot.inFlight == 0)
    }

    @Test func aCancelledWaiterLeavesTheQueueWithoutBeingShed() async throws {
        let limiter = AdmissionLimiter(configuration: .init(limit: 1))
        try await self.whileASlotIsHeld(limiter) { _ in
            let waiter = Task { try await limiter.withPermit(until: .now + .seconds(30)) {} }
            while limiter.snapshot.waiting == 0 { await Task.yield() }
            waiter.cancel()
            await #expect(throws: CancellationError.self) { try await waiter.value }
            #expect(limiter.snapshot.waiting == 0)
            #expect(limiter.snapshot.shed == 0)
        }
        #expect(limiter.snapshot.inFlight == 0)
    }
}
