import ArcanosCore
import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import NIOFoundationCompat

/// `POST /jobs {worker, input}` → 202 `{id}`; `GET /jobs/:id` → the job's state and result. Enqueuing runs
/// work like `POST /workers/run/:workerId` does, so it passes the same confirmation gate; reading a job
/// needs only the API key.
struct JobsController {
    let dispatcher: WorkerDispatcher

    /// `POST /jobs`, on a group behind the confirmation gate.
    func addCreateRoute(to gated: RouterGroup<AppRequestContext>) {
        gated.post(use: self.create)
    }

    func addReadRoutes(to group: RouterGroup<AppRequestContext>) {
        group.get(":id", use: self.show)
    }

    @Sendable
    func create(_ request: Request, context: AppRequestContext) async throws -> Response {
        var request = request
        let body = try await request.decodeJSON(CreateJobRequest.self, context: context)
        if let problem = WorkerID.problem(with: body.worker) {
            throw ArcanosError.invalidRequest("invalid worker id: \(problem)")
        }
        let job = try await self.dispatcher.enqueue(worker: body.worker, input: body.input)
        context.logger.debug("job enqueued", metadata: ["job.id": "\(job.id)", "worker.id": "\(job.worker)"])
        return try Response.json(
            ["id": job.id],
            status: .accepted,
            headers: [.location: "/jobs/\(job.id)"]
        )
    }

    @Sendable
    func show(_ request: Request, context: AppRequestContext) async throws -> Response {
        let id = try context.parameters.require("id")
        guard let job = try await self.dispatcher.job(id: id) else {
            throw ArcanosError(.notFound, "no job with this id")
        }
        return try Response.json(JobView(job))
    }
}

struct CreateJobRequest: Decodable {
    var worker: String
    var input: String
}

/// A job as clients see it: state and result, never lease internals.
struct JobView: Encodable {
    var id: String
    var worker: String
    var status: Job.Status
    var attempts: Int
    var maxAttempts: Int
    var result: String?
    var error: String?
    var createdAt: Date
    var updatedAt: Date

    init(_ job: Job) {
        self.id = job.id
        self.worker = job.worker
        self.status = job.status
        self.attempts = job.attempts
        self.maxAttempts = job.maxAttempts
        self.result = job.result
        self.error = job.error
        self.createdAt = job.createdAt
        self.updatedAt = job.updatedAt
    }
}
