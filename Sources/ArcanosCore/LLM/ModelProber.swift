import ServiceLifecycle
import Synchronization

/// Notices a model's return without waiting for user traffic: while a breaker is open it sends that
/// model's one probe (`ResilientLLMClient.probeRequest`) when the open time is up, for every client
/// registered with it. It sleeps until the earliest probe is due, or until a breaker opens.
public final class ModelProber: Service, Sendable {
    private struct State {
        var clients: [ResilientLLMClient] = []
        var waiter: CheckedContinuation<Void, Never>?
        /// A wake-up that came while nobody waited.
        var pending = false
    }

    private let state = Mutex(State())

    public init() {}

    /// Called by `ResilientLLMClient.init`.
    func register(_ client: ResilientLLMClient) {
        self.state.withLock { $0.clients.append(client) }
    }

    /// A breaker opened: the next probe time may be earlier than the one slept for.
    func wake() {
        let waiter = self.state.withLock { state -> CheckedContinuation<Void, Never>? in
            guard let waiter = state.waiter else {
                state.pending = true
                return nil
            }
            state.waiter = nil
            return waiter
        }
        waiter?.resume()
    }

    public func run() async throws {
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                let clients = self.state.withLock { $0.clients }
                let now = ContinuousClock.now
                let next = clients.compactMap { $0.nextProbe(now: now) }.min()
                if let next, next <= now {
                    await withDiscardingTaskGroup { group in
                        for client in clients { group.addTask { await client.probeDueModels() } }
                    }
                } else {
                    await self.sleep(until: next)
                }
            }
        }
    }

    /// Returns at `deadline` (never, when nil), at a wake-up, or on cancellation.
    private func sleep(until deadline: ContinuousClock.Instant?) async {
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await self.waitForWakeUp() }
            if let deadline {
                group.addTask { try? await Task.sleep(until: deadline, clock: .continuous) }
            }
            await group.next()
            group.cancelAll()
        }
    }

    private func waitForWakeUp() async {
        await withTaskCancellationHandler {
            await withCheckedContinuation { continuation in
                // Checked under the lock the cancellation handler also takes, so a cancellation is either
                // seen here or finds the stored waiter.
                let resumeNow = self.state.withLock { state -> Bool in
                    if state.pending || Task.isCancelled {
                        state.pending = false
                        return true
                    }
                    state.waiter = continuation
                    return false
                }
                if resumeNow { continuation.resume() }
            }
        } onCancel: {
            let waiter = self.state.withLock { state -> CheckedContinuation<Void, Never>? in
                defer { state.waiter = nil }
                return state.waiter
            }
            waiter?.resume()
        }
    }
}
