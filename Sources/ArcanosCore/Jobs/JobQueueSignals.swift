import Synchronization

/// In-process wake-ups around the job store: idle workers sleep until work is enqueued (or a poll interval
/// passes, for work that became claimable on its own: a backoff ending, a lease expiring, another process),
/// and callers waiting for a job's result wake when a worker finishes it.
public final class JobQueueSignals: Sendable {
    private struct State {
        /// Wake-ups sent while no worker was waiting, bounded: each costs at most one empty claim.
        var permits = 0
        var nextID: UInt64 = 0
        var workWaiters: [UInt64: CheckedContinuation<Void, Never>] = [:]
        var finishWaiters: [String: [UInt64: CheckedContinuation<Void, Never>]] = [:]
        /// Waiters that took a key but have not registered their continuation yet.
        var unregistered: Set<UInt64> = []
        /// Waiters cancelled before they registered.
        var cancelled: Set<UInt64> = []
    }

    private let state = Mutex(State())
    private let maximumPermits: Int

    public init(maximumPermits: Int = 64) {
        self.maximumPermits = maximumPermits
    }

    /// `count` jobs became claimable.
    public func workAvailable(count: Int = 1) {
        let woken = self.state.withLock { state -> [CheckedContinuation<Void, Never>] in
            var woken: [CheckedContinuation<Void, Never>] = []
            for _ in 0..<max(count, 0) {
                if let id = state.workWaiters.keys.first {
                    woken.append(state.workWaiters.removeValue(forKey: id)!)
                } else {
                    state.permits = min(state.permits + 1, self.maximumPermits)
                }
            }
            return woken
        }
        for waiter in woken { waiter.resume() }
    }

    /// Returns when work is signalled, after `timeout` on `clock`, or when the task is cancelled.
    public func waitForWork(upTo timeout: Duration, clock: any Clock<Duration>) async {
        let hadPermit = self.state.withLock { state -> Bool in
            guard state.permits > 0 else { return false }
            state.permits -= 1
            return true
        }
        guard !hadPermit else { return }
        await withTaskGroup(of: Void.self) { group in
            group.addTask {
                await self.wait {
                    $0.workWaiters[$1] = $2
                } remove: {
                    $0.workWaiters.removeValue(forKey: $1)
                }
            }
            group.addTask { try? await clock.sleep(for: timeout) }
            await group.next()
            group.cancelAll()
        }
    }

    /// The job `id` reached a final state.
    public func jobFinished(id: String) {
        let woken = self.state.withLock { $0.finishWaiters.removeValue(forKey: id) }
        for waiter in woken?.values ?? [:].values { waiter.resume() }
    }

    /// Returns when `jobFinished(id:)` is called, after `timeout` on `clock`, or on cancellation. The caller
    /// reads the store afterwards: a finish in another process is only seen by that read.
    public func waitForFinish(id: String, upTo timeout: Duration, clock: any Clock<Duration>) async {
        await withTaskGroup(of: Void.self) { group in
            group.addTask {
                await self.wait { state, key, continuation in
                    state.finishWaiters[id, default: [:]][key] = continuation
                } remove: { state, key in
                    let continuation = state.finishWaiters[id]?.removeValue(forKey: key)
                    if state.finishWaiters[id]?.isEmpty == true { state.finishWaiters[id] = nil }
                    return continuation
                }
            }
            group.addTask { try? await clock.sleep(for: timeout) }
            await group.next()
            group.cancelAll()
        }
    }

    private func wait(
        register: @escaping @Sendable (inout State, UInt64, CheckedContinuation<Void, Never>) -> Void,
        remove: @escaping @Sendable (inout State, UInt64) -> CheckedContinuation<Void, Never>?
    ) async {
        let key = self.state.withLock { state -> UInt64 in
            state.nextID += 1
            state.unregistered.insert(state.nextID)
            return state.nextID
        }
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let resumeNow = self.state.withLock { state -> Bool in
                    state.unregistered.remove(key)
                    if state.cancelled.remove(key) != nil { return true }
                    register(&state, key, continuation)
                    return false
                }
                if resumeNow { continuation.resume() }
            }
        } onCancel: {
            let continuation = self.state.withLock { state -> CheckedContinuation<Void, Never>? in
                if let continuation = remove(&state, key) { return continuation }
                // Not registered yet: tell the registration to return at once. (Already resumed: nothing to do.)
                if state.unregistered.contains(key) { state.cancelled.insert(key) }
                return nil
            }
            continuation?.resume()
        }
    }
}
