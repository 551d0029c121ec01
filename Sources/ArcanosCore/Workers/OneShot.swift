import Synchronization

/// A value delivered once and awaited by any number of tasks: the first `resolve` wins, later ones are ignored.
/// Awaiting does not react to cancellation; whoever cancels must also resolve.
public final class OneShot<Value: Sendable>: Sendable {
    private enum State {
        case pending([CheckedContinuation<Value, Never>])
        case resolved(Value)
    }

    private let state = Mutex(State.pending([]))

    public init() {}

    /// Returns false when a value was already there.
    @discardableResult
    public func resolve(_ value: Value) -> Bool {
        let waiters = self.state.withLock { state -> [CheckedContinuation<Value, Never>]? in
            guard case .pending(let waiters) = state else { return nil }
            state = .resolved(value)
            return waiters
        }
        guard let waiters else { return false }
        for waiter in waiters { waiter.resume(returning: value) }
        return true
    }

    public var isResolved: Bool {
        self.state.withLock { if case .resolved = $0 { true } else { false } }
    }

    public var value: Value {
        get async {
            await withCheckedContinuation { continuation in
                let value = self.state.withLock { state -> Value? in
                    switch state {
                    case .resolved(let value): return value
                    case .pending(var waiters):
                        waiters.append(continuation)
                        state = .pending(waiters)
                        return nil
                    }
                }
                if let value { continuation.resume(returning: value) }
            }
        }
    }
}
