import Synchronization

/// The one limit on model calls in flight for the whole process (`OPENAI_MAX_IN_FLIGHT`): `/ask`, worker
/// tasks and the heal planner share it. A caller waits in FIFO order at most until its deadline, and is
/// turned away at once (`LLMFailure.overloaded`) when the queue is full or the wait would overrun it.
public final class AdmissionLimiter: Sendable {
    public typealias Queue = AdmissionQueue<ContinuousClock.Instant>

    public struct Snapshot: Sendable, Hashable, Codable {
        public var limit: Int
        public var inFlight: Int
        public var waiting: Int
        public var maximumWaiting: Int
        /// Callers turned away since start, without a call.
        public var shed: Int
    }

    private struct State {
        var queue: Queue
        var waiters: [UInt64: CheckedContinuation<Void, any Error>] = [:]
        /// Grants and give-ups that came before the waiter's continuation was stored.
        var early: [UInt64: Result<Void, any Error>] = [:]
        var nextID: UInt64 = 0
        var shed = 0
    }

    private let state: Mutex<State>
    private let metrics: ArcanosMetrics

    public init(configuration: Queue.Configuration, metrics: ArcanosMetrics = .disabled) {
        self.state = Mutex(State(queue: Queue(configuration: configuration)))
        self.metrics = metrics
        metrics.recordModelCallsInFlight(0, limit: configuration.limit)
    }

    public var snapshot: Snapshot {
        self.state.withLock { state in
            Snapshot(
                limit: state.queue.configuration.limit,
                inFlight: state.queue.inFlight,
                waiting: state.queue.waiting.count,
                maximumWaiting: state.queue.configuration.maximumWaiting,
                shed: state.shed
            )
        }
    }

    /// Runs `operation` holding a slot. Throws `LLMFailure(.overloaded)` when no slot comes by `deadline`,
    /// `CancellationError` when the caller goes away while waiting.
    public func withPermit<Value>(
        until deadline: ContinuousClock.Instant,
        _ operation: () async throws -> Value
    ) async throws -> Value {
        let permit = try await self.permit(until: deadline)
        defer { permit.release() }
        return try await operation()
    }

    /// A slot held until `release()`: for a call that outlives the function that started it (a stream that
    /// goes on after its first token). Throws like `withPermit`.
    public func permit(until deadline: ContinuousClock.Instant) async throws -> AdmissionPermit {
        try await self.acquire(until: deadline)
        let start = ContinuousClock.now
        return AdmissionPermit { self.release(heldFor: start.duration(to: .now)) }
    }

    private func acquire(until deadline: ContinuousClock.Instant) async throws {
        let (id, decision) = self.state.withLock { state in
            state.nextID += 1
            let decision = state.queue.arrive(id: state.nextID, now: .now, deadline: deadline)
            if case .reject = decision { state.shed += 1 }
            return (state.nextID, decision)
        }
        switch decision {
        case .admit:
            self.recordInFlight()
            return
        case .reject(let expected):
            self.metrics.recordModelCallShed()
            throw Self.overloaded(retryAfter: expected, detail: "no admission slot before the deadline")
        case .wait:
            break
        }
        // The deadline is watched beside the wait: whichever of grant, deadline and cancellation takes the
        // waiter out of the queue first resumes it, under the lock, exactly once.
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask {
                try await Task.sleep(until: deadline, clock: .continuous)
                self.abandon(
                    id: id,
                    with: Self.overloaded(retryAfter: nil, detail: "admission wait reached the deadline")
                )
            }
            defer { group.cancelAll() }
            try await withTaskCancellationHandler {
                try await withCheckedThrowingContinuation { continuation in
                    let early = self.state.withLock { state -> Result<Void, any Error>? in
                        if let early = state.early.removeValue(forKey: id) { return early }
                        state.waiters[id] = continuation
                        return nil
                    }
                    if let early { continuation.resume(with: early) }
                }
            } onCancel: {
                self.abandon(id: id, with: CancellationError())
            }
        }
        self.recordInFlight()
    }

    private func abandon(id: UInt64, with error: any Error) {
        let (abandoned, continuation) = self.state.withLock { state -> (Bool, CheckedContinuation<Void, any Error>?) in
            // Already granted: the waiter holds a slot and releases it after its call.
            guard state.queue.abandon(id: id) else { return (false, nil) }
            if error is LLMFailure { state.shed += 1 }
            return (true, Self.take(id, result: .failure(error), from: &state))
        }
        if abandoned, error is LLMFailure { self.metrics.recordModelCallShed() }
        continuation?.resume(throwing: error)
    }

    private func release(heldFor: Duration) {
        let next = self.state.withLock { state -> CheckedContinuation<Void, any Error>? in
            guard let id = state.queue.release(heldFor: heldFor) else { return nil }
            return Self.take(id, result: .success(()), from: &state)
        }
        next?.resume()
        self.recordInFlight()
    }

    /// The waiter's continuation, or nil after recording `result` for it to find when it stores one.
    private static func take(
        _ id: UInt64,
        result: Result<Void, any Error>,
        from state: inout State
    ) -> CheckedContinuation<Void, any Error>? {
        if let continuation = state.waiters.removeValue(forKey: id) { return continuation }
        state.early[id] = result
        return nil
    }

    private func recordInFlight() {
        let (inFlight, limit) = self.state.withLock { ($0.queue.inFlight, $0.queue.configuration.limit) }
        self.metrics.recordModelCallsInFlight(inFlight, limit: limit)
    }

    private static func overloaded(retryAfter: Duration?, detail: String) -> LLMFailure {
        LLMFailure(.overloaded, retryAfter: retryAfter.map { max($0, .seconds(1)) } ?? .seconds(1), detail: detail)
    }
}

/// One admission slot. Released once, by whoever holds it last; `release()` after that does nothing.
public final class AdmissionPermit: Sendable {
    private let onRelease: Mutex<(@Sendable () -> Void)?>

    init(onRelease: @escaping @Sendable () -> Void) {
        self.onRelease = Mutex(onRelease)
    }

    /// A permit of a client without a limiter: nothing to give back.
    public static var unlimited: AdmissionPermit { AdmissionPermit {} }

    /// Moves the slot to a new permit, leaving this one empty: for a call that goes on after the code that
    /// took the slot (and releases it on the way out) has returned.
    public func handOver() -> AdmissionPermit {
        let onRelease = self.onRelease.withLock { onRelease in
            defer { onRelease = nil }
            return onRelease
        }
        return AdmissionPermit(onRelease: onRelease ?? {})
    }

    public func release() {
        let onRelease = self.onRelease.withLock { onRelease in
            defer { onRelease = nil }
            return onRelease
        }
        onRelease?()
    }
}
