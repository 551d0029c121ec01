import Foundation

/// Runs the tasks of the pool. Production runs prompts through the model client and commands as processes
/// (`ModuleTaskExecutor`); tests script outcomes.
public protocol WorkerTaskExecuting: Sendable {
    /// What running a task for `worker` involves, without running anything. Throws `ArcanosError`:
    /// `invalidRequest` (invalid id), `notFound` (no such worker), `notReady` (its definition is broken).
    func plan(worker: String) throws -> WorkerTaskPlan

    /// Runs one task and returns its result. An error is a failed attempt, settled by its
    /// `WorkerTaskFailure.Cause`: the model's failures leave the worker running, any other counts as a crash of
    /// the worker that ran it; `CancellationError` means it was stopped (hang, restart or shutdown).
    func execute(_ plan: WorkerTaskPlan, input: String) async throws -> String
}

/// A resolved worker: how long one task may take and how many attempts it gets.
public struct WorkerTaskPlan: Sendable, Hashable {
    public enum Kind: Sendable, Hashable {
        /// A task for the core pool: a prompt on `WORKER_MODEL`.
        case pool
        case module(WorkerModule)
    }

    public var worker: String
    public var kind: Kind
    public var timeout: Duration
    public var maxAttempts: Int

    public init(worker: String, kind: Kind, timeout: Duration, maxAttempts: Int) {
        self.worker = worker
        self.kind = kind
        self.timeout = timeout
        self.maxAttempts = max(1, maxAttempts)
    }
}

/// Why a task failed, in words that are safe to store and show: no provider text, no command output.
public enum WorkerTaskFailure {
    public static func message(for error: any Error) -> String {
        switch error {
        case let failure as CommandFailure: return failure.description
        case let error as ArcanosError: return error.message
        case let failure as LLMFailure: return "the model call failed (\(failure.kind.rawValue))"
        case is CancellationError: return "the task was cancelled"
        default: return "the task failed"
        }
    }
}

extension WorkerTaskFailure {
    /// Whose failure a task's error is: that decides whether the job is charged an attempt and whether the
    /// worker that ran it counts as crashed.
    public enum Cause: Sendable, Hashable {
        /// The model is unavailable (failing, shedding load, or its breaker open): neither the worker's fault nor
        /// the job's. The job waits for the model, uncharged; the worker carries on.
        case modelUnavailable(retryAfter: Duration?)
        /// The model refused this request (a 4xx other than 429, or no model configured): waiting would not help,
        /// so the job is charged an attempt; the worker carries on.
        case modelRejected
        /// The worker's own failure: the job is charged and the worker counts as crashed.
        case worker
    }

    /// Classified by the model client's error (`ArcanosError` whose `underlying` is an `LLMFailure`, or whose
    /// code is `llm_unavailable` or `circuit_open`), not by listing failure kinds, so a kind added later counts
    /// as the model's too.
    public static func cause(of error: any Error) -> Cause {
        let failure: LLMFailure?
        var retryAfter: Duration?
        switch error {
        case let error as ArcanosError:
            failure = error.underlying as? LLMFailure
            retryAfter = error.retryAfter
            guard failure != nil || error.code == .llmUnavailable || error.code == .circuitOpen else { return .worker }
        case let error as LLMFailure:
            failure = error
        default:
            return .worker
        }
        if let failure {
            if failure.kind.isRequestFault { return .modelRejected }
            retryAfter = retryAfter ?? failure.retryAfter
        }
        return .modelUnavailable(retryAfter: retryAfter)
    }
}
