/// The decision part of the limit on model calls in flight, as a pure value: who runs, who waits in FIFO
/// order, and who is turned away at once because the wait would overrun their deadline.
///
/// The expected wait of a newcomer is `(waiting + 1) × typical call time ÷ limit` (slots free up at
/// `limit` per typical call time); the typical call time is a moving average of how long permits were held.
/// Until the first call has finished there is no estimate and only a full queue turns callers away.
public struct AdmissionQueue<Instant: InstantProtocol>: Sendable where Instant.Duration == Duration {
    public struct Configuration: Sendable, Hashable {
        /// Calls in flight at once (`OPENAI_MAX_IN_FLIGHT`).
        public var limit: Int
        /// Callers that may wait for a slot; one more is turned away at once. The deadline is the real bound
        /// of a wait; this one bounds memory.
        public var maximumWaiting: Int

        /// - Parameter maximumWaiting: default four times `limit`.
        public init(limit: Int, maximumWaiting: Int? = nil) {
            precondition(limit >= 1, "limit must be at least 1")
            self.limit = limit
            self.maximumWaiting = max(maximumWaiting ?? 4 * limit, 0)
        }
    }

    public enum Decision: Sendable, Hashable {
        case admit
        case wait
        /// Turned away without waiting; `retryAfter` is the expected wait for a slot.
        case reject(retryAfter: Duration)
    }

    public let configuration: Configuration
    public private(set) var inFlight = 0
    /// Ids of waiting callers, oldest first.
    public private(set) var waiting: [UInt64] = []
    /// Moving average of how long a permit is held; nil before the first release.
    public private(set) var typicalHold: Duration?

    public init(configuration: Configuration) {
        self.configuration = configuration
    }

    /// A caller `id` wants a slot and must have it by `deadline`.
    public mutating func arrive(id: UInt64, now: Instant, deadline: Instant) -> Decision {
        guard now < deadline else { return .reject(retryAfter: self.expectedWait(position: self.waiting.count)) }
        if self.inFlight < self.configuration.limit, self.waiting.isEmpty {
            self.inFlight += 1
            return .admit
        }
        let expected = self.expectedWait(position: self.waiting.count)
        guard self.waiting.count < self.configuration.maximumWaiting, now.advanced(by: expected) < deadline else {
            return .reject(retryAfter: expected)
        }
        self.waiting.append(id)
        return .wait
    }

    /// A permit held for `heldFor` was given back. Returns the waiter that now holds it, if any.
    public mutating func release(heldFor: Duration) -> UInt64? {
        self.typicalHold = self.typicalHold.map { $0 * 0.8 + heldFor * 0.2 } ?? heldFor
        guard !self.waiting.isEmpty else {
            self.inFlight = max(self.inFlight - 1, 0)
            return nil
        }
        // The slot passes straight to the oldest waiter: inFlight stays the same.
        return self.waiting.removeFirst()
    }

    /// A waiter gave up (deadline or cancellation). False when it was no longer waiting: it already holds a
    /// slot, which it must release.
    public mutating func abandon(id: UInt64) -> Bool {
        guard let index = self.waiting.firstIndex(of: id) else { return false }
        self.waiting.remove(at: index)
        return true
    }

    /// Expected wait for the caller that would stand at `position` (0 = next in line).
    public func expectedWait(position: Int) -> Duration {
        guard let typicalHold = self.typicalHold else { return .zero }
        return typicalHold * (position + 1) / self.configuration.limit
    }
}
