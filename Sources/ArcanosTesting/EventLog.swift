import Synchronization

/// Records events as a fake or an observer callback delivers them, and lets a test wait for the ones it
/// expects instead of sleeping; a wait that is not met by its deadline throws, so the test fails there.
public final class EventLog<Event: Sendable>: Sendable {
    /// What a wait saw when its deadline passed.
    public struct Timeout: Error, CustomStringConvertible {
        public var expected: Int
        public var matched: Int
        public var deadline: Duration
        public var recorded: [Event]

        public var description: String {
            "waited \(self.deadline) for \(self.expected) matching event(s), saw \(self.matched); recorded: "
                + "\(self.recorded.suffix(20))"
        }
    }

    private struct Waiter {
        var id: Int
        var count: Int
        var predicate: @Sendable (Event) -> Bool
        var continuation: CheckedContinuation<[Event], any Error>
        var timer: Task<Void, Never>?
    }

    private struct State {
        var events: [Event] = []
        var waiters: [Waiter] = []
        var nextWaiter = 0
    }

    private let state = Mutex(State())

    /// How long `waitFor` waits unless told otherwise: far beyond any event a test expects, well inside the
    /// suites' time limits.
    public static var defaultDeadline: Duration { .seconds(30) }

    public init() {}

    /// For `onEvent:` parameters.
    public var recorder: @Sendable (Event) -> Void { { self.record($0) } }

    public func record(_ event: Event) {
        let ready = self.state.withLock { state -> [(Waiter, [Event])] in
            state.events.append(event)
            var ready: [(Waiter, [Event])] = []
            state.waiters.removeAll { waiter in
                let matching = state.events.filter(waiter.predicate)
                guard matching.count >= waiter.count else { return false }
                ready.append((waiter, matching))
                return true
            }
            return ready
        }
        for (waiter, events) in ready {
            waiter.timer?.cancel()
            waiter.continuation.resume(returning: events)
        }
    }

    public var events: [Event] { self.state.withLock { $0.events } }

    /// Returns the matching events once at least `count` of them were recorded (counting those already there);
    /// throws `Timeout` when they are not there within `deadline`.
    @discardableResult
    public func waitFor(
        _ count: Int = 1,
        within deadline: Duration = defaultDeadline,
        where predicate: @escaping @Sendable (Event) -> Bool
    ) async throws -> [Event] {
        try await withCheckedThrowingContinuation { continuation in
            let ready = self.state.withLock { state -> [Event]? in
                let matching = state.events.filter(predicate)
                if matching.count >= count { return matching }
                state.nextWaiter += 1
                let id = state.nextWaiter
                // The timer starts once the waiter is registered, so it cannot fire before there is one to end.
                let timer = Task { [weak self] in
                    try? await Task.sleep(for: deadline)
                    guard !Task.isCancelled else { return }
                    self?.expire(id, deadline: deadline)
                }
                state.waiters.append(
                    Waiter(id: id, count: count, predicate: predicate, continuation: continuation, timer: timer)
                )
                return nil
            }
            if let ready { continuation.resume(returning: ready) }
        }
    }

    private func expire(_ id: Int, deadline: Duration) {
        let expired = self.state.withLock { state -> (Waiter, Timeout)? in
            guard let index = state.waiters.firstIndex(where: { $0.id == id }) else { return nil }
            let waiter = state.waiters.remove(at: index)
            let matched = state.events.filter(waiter.predicate).count
            return (
                waiter, Timeout(expected: waiter.count, matched: matched, deadline: deadline, recorded: state.events)
            )
        }
        if let (waiter, timeout) = expired { waiter.continuation.resume(throwing: timeout) }
    }

    public func count(where predicate: (Event) -> Bool) -> Int {
        self.state.withLock { $0.events.filter(predicate).count }
    }
}
