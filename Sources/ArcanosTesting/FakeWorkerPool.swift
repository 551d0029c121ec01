import ArcanosCore
import Foundation
import Synchronization

/// A `WorkerPoolControlling` whose telemetry a test sets and whose restarts it counts and can hold, so that
/// heal tests decide exactly when a restart finishes.
public final class FakeWorkerPool: WorkerPoolControlling {
    private struct State {
        var runtime: WorkerRuntimeStatus
        var stormGuardTripped = false
        var hungWorkers: [String] = []
        var deadWorkers: [String] = []
        var restarts = 0
        var resetStormGuardRequests: [Bool] = []
        var hold: OneShot<Void>?
    }

    private let state: Mutex<State>

    public init(workerCount: Int = 4, model: String = "gpt-4o-mini", enabled: Bool = true, started: Bool = true) {
        var runtime = WorkerRuntimeStatus(
            enabled: enabled,
            model: model,
            configuredCount: workerCount,
            workerIds: []
        )
        if enabled && started {
            runtime.started = true
            runtime.startedAt = Date()
            runtime.activeListeners = workerCount
            runtime.workerIds = (1...max(workerCount, 1)).prefix(workerCount).map { "arcanos-worker-\($0)" }
        }
        self.state = Mutex(State(runtime: runtime))
    }

    /// Restarts the pool has performed (joined callers count once).
    public var restartCount: Int { self.state.withLock { $0.restarts } }
    /// The `resetStormGuard` flag of every `restart` call.
    public var resetStormGuardRequests: [Bool] { self.state.withLock { $0.resetStormGuardRequests } }

    /// Changes the telemetry the next `status` returns.
    public func update(_ change: @Sendable (inout WorkerRuntimeStatus) -> Void) {
        self.state.withLock { change(&$0.runtime) }
    }

    /// Marks workers dead (not active) until the next restart.
    public func kill(_ workerIDs: [String]) {
        self.state.withLock { state in
            state.deadWorkers += workerIDs
            state.runtime.workerIds.removeAll { workerIDs.contains($0) }
            state.runtime.activeListeners = state.runtime.workerIds.count
        }
    }

    public func setHung(_ workerIDs: [String]) {
        self.state.withLock { $0.hungWorkers = workerIDs }
    }

    public func setStormGuardTripped(_ tripped: Bool) {
        self.state.withLock { $0.stormGuardTripped = tripped }
    }

    /// Restarts started from now on wait until `releaseRestarts()`.
    public func holdRestarts() {
        self.state.withLock { $0.hold = OneShot<Void>() }
    }

    public func releaseRestarts() {
        let hold = self.state.withLock { state -> OneShot<Void>? in
            defer { state.hold = nil }
            return state.hold
        }
        _ = hold?.resolve(())
    }

    public func restart(resetStormGuard: Bool) async -> StartWorkersSummary {
        let (hold, enabled) = self.state.withLock { state in
            state.resetStormGuardRequests.append(resetStormGuard)
            return (state.hold, state.runtime.enabled)
        }
        guard enabled else {
            return self.summary(started: false, message: "RUN_WORKERS=false: nothing was restarted")
        }
        if let hold { await hold.value }
        self.state.withLock { state in
            state.restarts += 1
            state.deadWorkers = []
            state.hungWorkers = []
            // As the supervisor: any restart ends `unsafe` (a plain one puts the pool on probation).
            state.stormGuardTripped = false
            state.runtime.started = true
            state.runtime.startedAt = Date()
            state.runtime.workerIds = (0..<state.runtime.configuredCount).map { "arcanos-worker-\($0 + 1)" }
            state.runtime.activeListeners = state.runtime.configuredCount
        }
        return self.summary(started: true, message: "Worker pool restarted")
    }

    public func status(now: Date) -> (runtime: WorkerRuntimeStatus, supervisor: WorkerSupervisorStatus) {
        self.state.withLock { state in
            (state.runtime, Self.supervisorStatus(state))
        }
    }

    public func recordInline(input: String, outcome: Result<String, ArcanosError>) {
        self.state.withLock { state in
            state.runtime.recordDispatch(input: input, now: Date())
            switch outcome {
            case .success(let result): state.runtime.recordSuccess(result: result)
            case .failure(let error): state.runtime.recordFailure(error.message)
            }
        }
    }

    private func summary(started: Bool, message: String) -> StartWorkersSummary {
        let runtime = self.state.withLock { $0.runtime }
        return StartWorkersSummary(
            started: started,
            alreadyRunning: false,
            runWorkers: runtime.enabled,
            workerCount: runtime.configuredCount,
            workerIds: runtime.workerIds,
            model: runtime.model,
            startedAt: started ? runtime.startedAt : nil,
            message: message
        )
    }

    // Built through its Codable form: the type has no public memberwise initializer.
    private static func supervisorStatus(_ state: State) -> WorkerSupervisorStatus {
        let workers: [JSONValue] = (0..<state.runtime.configuredCount).map { index in
            let id = "arcanos-worker-\(index + 1)"
            let workerState =
                state.hungWorkers.contains(id) ? "hung" : state.deadWorkers.contains(id) ? "dead" : "idle"
            return ["id": .string(id), "state": .string(workerState), "restarts": 0]
        }
        let document: JSONValue = [
            "state": .string(!state.runtime.enabled ? "disabled" : state.stormGuardTripped ? "unsafe" : "running"),
            "restarts": 0, "crashes": 0, "hangs": .number(Double(state.hungWorkers.count)),
            "storms": state.stormGuardTripped ? 1 : 0, "stormGuardTripped": .bool(state.stormGuardTripped),
            "restartsInWindow": 0, "restartThreshold": 10, "restartWindowMs": 60000,
            "poolRestarts": .number(Double(state.restarts)),
            "workers": state.runtime.enabled ? .array(workers) : [],
        ]
        // The Codable shape is the status payload's contract; a change there must fail tests loudly.
        return try! JSONDecoder().decode(WorkerSupervisorStatus.self, from: JSONEncoder().encode(document))
    }
}
