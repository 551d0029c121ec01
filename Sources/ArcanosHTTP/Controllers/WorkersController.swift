import ArcanosCore
import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import NIOFoundationCompat

/// `POST /workers/run/:workerId`: runs one task and waits (bounded) for its result. `arcanos`, `arcanos-core`
/// and `worker.queue` dispatch to the core pool; any other id runs that inventory module. Gated.
struct WorkersController {
    let dispatcher: WorkerDispatcher

    func addRoutes(to group: RouterGroup<AppRequestContext>) {
        group.post("run/:workerId", use: self.run)
    }

    @Sendable
    func run(_ request: Request, context: AppRequestContext) async throws -> Response {
        let workerID = try context.parameters.require("workerId")
        if let problem = WorkerID.problem(with: workerID) {
            throw ArcanosError.invalidRequest("invalid worker id: \(problem)")
        }
        // An unknown worker is 404 whatever the body says.
        try self.dispatcher.checkWorker(workerID)
        var request = request
        let input = try await request.decodeJSON(WorkerRunRequest.self, context: context).task()
        let outcome = try await self.dispatcher.run(worker: workerID, input: input)
        context.logger.info(
            "worker task dispatched",
            metadata: [
                "worker.id": "\(workerID)", "job.id": "\(outcome.jobId ?? "inline")",
                "worker.success": "\(outcome.success)",
            ]
        )
        let body = WorkerRunResponse(
            success: outcome.success,
            workerId: workerID,
            result: outcome.result,
            executionTime: outcome.executionTime.milliseconds,
            timestamp: Date(),
            jobId: outcome.jobId,
            error: outcome.success ? nil : (outcome.timedOut ? "task_timeout" : "task_failed"),
            message: outcome.error
        )
        // A task that failed or ran out of time is the worker's failure, not the client's: 502 / 504.
        let status: HTTPResponse.Status = outcome.success ? .ok : (outcome.timedOut ? .gatewayTimeout : .badGateway)
        return try Response.json(body, status: status)
    }
}

/// `{input}`, `{prompt}` or `{text}`: the task, under whichever name the caller uses (input first). Each name
/// sent must hold a valid task, null included, as the OpenAPI document states.
struct WorkerRunRequest: Decodable {
    var input: String?
    var prompt: String?
    var text: String?

    enum CodingKeys: String, CodingKey {
        case input, prompt, text
    }

    init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        // `decode`, not `decodeIfPresent`: a null is a wrong type here, not an absent name.
        func field(_ key: CodingKeys) throws -> String? {
            guard container.contains(key) else { return nil }
            let value = try container.decode(String.self, forKey: key)
            try WorkerDispatcher.validate(input: value)
            return value
        }
        self.input = try field(.input)
        self.prompt = try field(.prompt)
        self.text = try field(.text)
    }

    func task() throws -> String {
        guard let task = self.input ?? self.prompt ?? self.text else {
            throw ArcanosError.invalidRequest("input is required (as input, prompt or text)")
        }
        return task
    }
}

/// The run response of the original system, plus the job that carried the task.
struct WorkerRunResponse: Encodable {
    var success: Bool
    var workerId: String
    var result: String?
    /// Milliseconds from dispatch to result.
    var executionTime: Int64
    var timestamp: Date
    var jobId: String?
    /// `task_failed` or `task_timeout` when `success` is false.
    var error: String?
    /// What went wrong, in safe words (never provider text or command output).
    var message: String?

    enum CodingKeys: String, CodingKey {
        case success, workerId, result, executionTime, timestamp, jobId, error, message
    }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(self.success, forKey: .success)
        try container.encode(self.workerId, forKey: .workerId)
        try container.encode(self.result, forKey: .result)  // null when there is none, as the original had it
        try container.encode(self.executionTime, forKey: .executionTime)
        try container.encode(self.timestamp, forKey: .timestamp)
        try container.encodeIfPresent(self.jobId, forKey: .jobId)
        try container.encodeIfPresent(self.error, forKey: .error)
        try container.encodeIfPresent(self.message, forKey: .message)
    }
}
