import Synchronization

/// Records events as a fake or an observer callback delivers them, and lets a test wait for the ones it
/// expects instead of sleeping.
public final class EventLog<Event: Sendable>: Sendable {
    private struct Waiter {
        var count: Int
        var predicate: @Sendable (Event) -> Bool
        var continuation: CheckedContinuation<[Event], Never>
    }

    private struct State {
        var events: [Event] = []
        var waiters: [Waiter] = []
    }

    private let state = Mutex(State())

    public init() {}

    /// For `onEvent:` parameters.
    public var recorder: @Sendable (Event) -> Void { { self.record($0) } }

    public func record(_ event: Event) {
        let ready = self.state.withLock { state -> [(CheckedContinuation<[Event], Never>, [Event])] in
            state.events.append(event)
            var ready: [(CheckedContinuation<[Event], Never>, [Event])] = []
            state.waiters.removeAll { waiter in
                let matching = state.events.filter(waiter.predicate)
                guard matching.count >= waiter.count else { return false }
                ready.append((waiter.continuation, matching))
                return true
            }
            return ready
        }
        for (continuation, events) in ready { continuation.resume(returning: events) }
    }

    public var events: [Event] { self.state.withLock { $0.events } }

    /// Returns the matching events once at least `count` of them were recorded (counting those already there).
    @discardableResult
    public func waitFor(_ count: Int = 1, where predicate: @escaping @Sendable (Event) -> Bool) async -> [Event] {
        await withCheckedContinuation { continuation in
            let ready = self.state.withLock { state -> [Event]? in
                let matching = state.events.filter(predicate)
                if matching.count >= count { return matching }
                state.waiters.append(Waiter(count: count, predicate: predicate, continuation: continuation))
                return nil
            }
            if let ready { continuation.resume(returning: ready) }
        }
    }

    public func count(where predicate: (Event) -> Bool) -> Int {
        self.state.withLock { $0.events.filter(predicate).count }
    }
}
