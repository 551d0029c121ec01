import ArcanosCore

/// A `WorkerTaskExecuting` whose tasks run a closure: tests decide what succeeds, throws, blocks or counts.
public struct ScriptedTaskExecutor: WorkerTaskExecuting {
    public var timeout: Duration
    public var maxAttempts: Int
    /// Workers that exist; any other id is `notFound`.
    public var workers: Set<String>
    private let body: @Sendable (_ worker: String, _ input: String) async throws -> String

    public init(
        workers: Set<String> = ["arcanos"],
        timeout: Duration = .seconds(30),
        maxAttempts: Int = 3,
        body: @escaping @Sendable (_ worker: String, _ input: String) async throws -> String
    ) {
        self.workers = workers
        self.timeout = timeout
        self.maxAttempts = maxAttempts
        self.body = body
    }

    public func plan(worker: String) throws -> WorkerTaskPlan {
        if let problem = WorkerID.problem(with: worker) {
            throw ArcanosError.invalidRequest("invalid worker id: \(problem)")
        }
        guard self.workers.contains(worker) else { throw ArcanosError(.notFound, "no worker named \"\(worker)\"") }
        return WorkerTaskPlan(worker: worker, kind: .pool, timeout: self.timeout, maxAttempts: self.maxAttempts)
    }

    public func execute(_ plan: WorkerTaskPlan, input: String) async throws -> String {
        try await self.body(plan.worker, input)
    }
}
