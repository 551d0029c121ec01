import ArcanosTesting
import Testing

/// The test helper every event-driven test waits with: it returns as soon as the events are there, and fails
/// the wait, not the whole run, when they never come.
@Suite(.timeLimit(.minutes(1))) struct EventLogTests {
    @Test func aWaitReturnsOnceEnoughMatchingEventsAreRecorded() async throws {
        let log = EventLog<Int>()
        log.record(1)
        async let waited = log.waitFor(2, within: .seconds(30)) { $0.isMultiple(of: 2) == false }
        log.record(2)
        log.record(3)
        #expect(try await waited == [1, 3])
        // Events already there count: this one returns at once.
        #expect(try await log.waitFor(where: { $0 == 2 }) == [2])
    }

    @Test func aWaitPastItsDeadlineThrowsWhatItSaw() async throws {
        let log = EventLog<Int>()
        log.record(7)
        let start = ContinuousClock.now
        let error = await #expect(throws: EventLog<Int>.Timeout.self) {
            try await log.waitFor(2, within: .milliseconds(50)) { $0 == 7 }
        }
        #expect(error?.expected == 2 && error?.matched == 1 && error?.recorded == [7])
        #expect(start.duration(to: .now) < .seconds(10))
        // The expired waiter is gone: later events resume nobody twice.
        log.record(7)
        #expect(try await log.waitFor(2, within: .seconds(30)) { $0 == 7 }.count == 2)
    }
}
