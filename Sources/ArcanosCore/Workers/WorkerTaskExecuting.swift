import Foundation

/// Runs the tasks of the pool. Production runs prompts through the model client and commands as processes
/// (`ModuleTaskExecutor`); tests script outcomes.
public protocol WorkerTaskExecuting: Sendable {
    /// What running a task for `worker` involves, without running anything. Throws `ArcanosError`:
    /// `invalidRequest` (invalid id), `notFound` (no such worker), `notReady` (its definition is broken).
    func plan(worker: String) throws -> WorkerTaskPlan

    /// Runs one task and returns its result. Any error is a failed attempt and counts as a crash of the worker
    /// that ran it; `CancellationError` means it was stopped (hang, restart or shutdown).
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
