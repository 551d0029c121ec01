import ArcanosApp
import ArcanosCore
import ArcanosHTTP
import ArcanosTesting
import AsyncHTTPClient
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import NIOCore
import NIOHTTP1
import Testing

/// `POST /workers/run/:workerId`, `POST /jobs` and `GET /jobs/:id` through the real router, with the real
/// supervisor (real clock) over an in-memory store and a scripted executor.
@Suite(.timeLimit(.minutes(1))) struct WorkerRoutesTests {
    static let confirmed: HTTPFields = [.contentType: "application/json", HTTPField.Name("x-confirmed")!: "yes"]
    static let json: HTTPFields = [.contentType: "application/json"]

    struct Harness {
        let store = InMemoryJobStore()
        let events = EventLog<WorkerPoolEvent>()
        let supervisor: WorkerSupervisor<ContinuousClock>
        let dispatcher: WorkerDispatcher
        let configuration: AppConfiguration

        init(enabled: Bool = true) {
            let executor = ScriptedTaskExecutor(workers: WorkerID.poolAliases.union(["echo", "broken"])) {
                worker,
                input in
                if worker == "broken" { throw CommandFailure.exited(status: 1) }
                return "\(worker): \(input.uppercased())"
            }
            let pool = WorkerPoolConfiguration(
                enabled: enabled,
                workerCount: 2,
                model: "test-model",
                retry: .init(initialDelay: .zero)
            )
            let signals = JobQueueSignals()
            self.supervisor = WorkerSupervisor(
                configuration: pool,
                store: self.store,
                executor: executor,
                signals: signals,
                clock: ContinuousClock(),
                logger: quietLogger,
                onEvent: self.events.recorder
            )
            self.dispatcher = WorkerDispatcher(
                configuration: pool,
                inventory: WorkerInventory(directory: "/nonexistent"),
                store: self.store,
                executor: executor,
                signals: signals,
                pool: self.supervisor,
                logger: quietLogger
            )
            var configuration = AppConfiguration()
            configuration.model.model = "test-model"
            self.configuration = configuration
        }

        func makeApplication() -> HTTPApplication {
            let client = ResilientLLMClient(
                provider: nil,
                configuration: .init(models: ["test-model"]),
                logger: quietLogger
            )
            return componentApplication(
                self.configuration,
                askService: AskService(client: client),
                readiness: [WorkerPoolReadiness(pool: self.supervisor)],
                services: [self.supervisor]
            ) { $0.workers = self.dispatcher }
        }
    }

    static func body(_ json: String) -> ByteBuffer { ByteBuffer(string: json) }

    static func object(_ response: TestResponse) -> [String: Any] {
        (try? JSONSerialization.jsonObject(with: Data(String(buffer: response.body).utf8))) as? [String: Any] ?? [:]
    }

    @Test func runNeedsConfirmation() async throws {
        try await Harness().makeApplication().test(.router) { client in
            try await client.execute(
                uri: "/workers/run/arcanos",
                method: .post,
                headers: Self.json,
                body: Self.body(#"{"input":"hello"}"#)
            ) { response in
                #expect(response.status == .forbidden)
                #expect(response.headers[HTTPField.Name("x-confirmation-challenge")!] != nil)
            }
        }
    }

    @Test(arguments: ["arcanos", "arcanos-core", "worker.queue"])
    func runDispatchesOneTaskToThePoolAndReturnsItsResult(_ alias: String) async throws {
        let harness = Harness()
        try await harness.makeApplication().test(.router) { client in
            try await client.execute(
                uri: "/workers/run/\(alias)",
                method: .post,
                headers: Self.confirmed,
                body: Self.body(#"{"input":"hello"}"#)
            ) { response in
                #expect(response.status == .ok)
                let body = Self.object(response)
                #expect(body["success"] as? Bool == true)
                #expect(body["workerId"] as? String == alias)
                #expect(body["result"] as? String == "\(alias): HELLO")
                #expect(body["executionTime"] is Int)
                #expect(body["timestamp"] is String && body["jobId"] is String)
                #expect(body["error"] == nil)
            }
        }
        #expect(harness.events.count(where: { if case .jobStarted = $0 { true } else { false } }) == 1)
    }

    @Test(arguments: [#"{"prompt":"hi"}"#, #"{"text":"hi"}"#])
    func runAcceptsThePromptOrTextFields(_ body: String) async throws {
        try await Harness().makeApplication().test(.router) { client in
            try await client.execute(
                uri: "/workers/run/echo",
                method: .post,
                headers: Self.confirmed,
                body: Self.body(body)
            ) {
                response in
                #expect(response.status == .ok)
                #expect(Self.object(response)["result"] as? String == "echo: HI")
            }
        }
    }

    @Test(arguments: [
        ("/workers/run/nobody", #"{"input":"x"}"#, HTTPResponse.Status.notFound, "not_found"),
        // The worker is looked up before the body: an unknown one is 404 whatever the body is.
        ("/workers/run/nobody", #"{}"#, .notFound, "not_found"),
        ("/workers/run/bad$id", #"{}"#, .badRequest, "invalid_request"),
        ("/workers/run/bad$id", #"{"input":"x"}"#, .badRequest, "invalid_request"),
        ("/workers/run/.hidden", #"{"input":"x"}"#, .badRequest, "invalid_request"),
        ("/workers/run/echo", #"{}"#, .badRequest, "invalid_request"),
        ("/workers/run/echo", #"{"input":42}"#, .badRequest, "invalid_request"),
        ("/workers/run/echo", #"{"input":"   "}"#, .badRequest, "invalid_request"),
        // Every name sent must hold a valid task, as the OpenAPI document says (issue 12).
        ("/workers/run/echo", #"{"input":null,"prompt":"x"}"#, .badRequest, "invalid_request"),
        ("/workers/run/echo", #"{"input":"x","text":"  "}"#, .badRequest, "invalid_request"),
        ("/workers/run/" + String(repeating: "a", count: 65), #"{"input":"x"}"#, .badRequest, "invalid_request"),
        ("/workers/run/echo", #"not json"#, .badRequest, "invalid_request"),
    ])
    func badRunRequestsGetAClear4xx(
        _ uri: String,
        _ body: String,
        _ status: HTTPResponse.Status,
        _ code: String
    ) async throws {
        let harness = Harness()
        try await harness.makeApplication().test(.router) { client in
            try await client.execute(uri: uri, method: .post, headers: Self.confirmed, body: Self.body(body)) {
                response in
                #expect(response.status == status)
                #expect(Self.object(response)["error"] as? String == code)
            }
        }
        #expect(try await harness.store.stats(now: Date()).depth == 0, "nothing was enqueued")
    }

    @Test func aFailingTaskIsA502WithASafeMessage() async throws {
        try await Harness().makeApplication().test(.router) { client in
            try await client.execute(
                uri: "/workers/run/broken",
                method: .post,
                headers: Self.confirmed,
                body: Self.body(#"{"input":"x"}"#)
            ) { response in
                #expect(response.status == .badGateway)
                let body = Self.object(response)
                #expect(body["success"] as? Bool == false && body["error"] as? String == "task_failed")
                #expect(body["message"] as? String == "the command exited with status 1")
                #expect(body.keys.contains("result"))
            }
        }
    }

    /// Enqueuing runs work like `/workers/run` does, so it passes the same gate: an API key is not enough.
    @Test func enqueuingAJobNeedsConfirmation() async throws {
        let harness = Harness()
        try await harness.makeApplication().test(.router) { client in
            try await client.execute(
                uri: "/jobs",
                method: .post,
                headers: Self.json,
                body: Self.body(#"{"worker":"echo","input":"x"}"#)
            ) { response in
                #expect(response.status == .forbidden)
                #expect(response.headers[HTTPField.Name("x-confirmation-status")!] == "pending")
                #expect(Self.object(response)["code"] as? String == "CONFIRMATION_REQUIRED")
            }
            try await client.execute(
                uri: "/jobs",
                method: .post,
                headers: Self.confirmed,
                body: Self.body(#"{"worker":"echo","input":"x"}"#)
            ) { response in
                #expect(response.status == .accepted)
                #expect(response.headers[HTTPField.Name("x-confirmation-status")!] == "confirmed")
            }
        }
    }

    @Test func jobsAreAcceptedThenReadable() async throws {
        let harness = Harness()
        try await harness.makeApplication().test(.router) { client in
            let id = try await client.execute(
                uri: "/jobs",
                method: .post,
                headers: Self.confirmed,
                body: Self.body(#"{"worker":"echo","input":"later"}"#)
            ) { response -> String in
                #expect(response.status == .accepted)
                let id = try #require(Self.object(response)["id"] as? String)
                #expect(response.headers[.location] == "/jobs/\(id)")
                return id
            }
            try await harness.events.waitFor { if case .jobFinished(_, id, .succeeded) = $0 { true } else { false } }
            try await client.execute(uri: "/jobs/\(id)", method: .get) { response in
                #expect(response.status == .ok)
                let job = Self.object(response)
                #expect(job["id"] as? String == id && job["status"] as? String == "succeeded")
                #expect(job["attempts"] as? Int == 1 && job["result"] as? String == "echo: LATER")
                #expect(job["createdAt"] is String && job["updatedAt"] is String)
                #expect(job["error"] == nil && job["leaseOwner"] == nil && job["fence"] == nil)
            }
        }
    }

    @Test func aFailedJobReportsItsErrorAndAttempts() async throws {
        let harness = Harness()
        try await harness.makeApplication().test(.router) { client in
            let id = try await client.execute(
                uri: "/jobs",
                method: .post,
                headers: Self.confirmed,
                body: Self.body(#"{"worker":"broken","input":"x"}"#)
            ) { response in try #require(Self.object(response)["id"] as? String) }
            try await harness.events.waitFor { if case .jobFinished(_, id, .failed) = $0 { true } else { false } }
            try await client.execute(uri: "/jobs/\(id)", method: .get) { response in
                let job = Self.object(response)
                #expect(job["status"] as? String == "failed" && job["attempts"] as? Int == 3)
                #expect(job["error"] as? String == "the command exited with status 1" && job["result"] == nil)
            }
        }
    }

    @Test(arguments: [
        (#"{"worker":"nobody","input":"x"}"#, HTTPResponse.Status.notFound),
        (#"{"worker":"../etc","input":"x"}"#, .badRequest),
        (#"{"worker":"echo"}"#, .badRequest),
        (#"{"worker":"echo","input":["x"]}"#, .badRequest),
        (#"{"worker":"echo","input":null}"#, .badRequest),
        (#"[]"#, .badRequest),
    ])
    func badJobRequestsGetAClear4xx(_ body: String, _ status: HTTPResponse.Status) async throws {
        try await Harness().makeApplication().test(.router) { client in
            try await client.execute(uri: "/jobs", method: .post, headers: Self.confirmed, body: Self.body(body)) {
                response in
                #expect(response.status == status)
                #expect(Self.object(response)["message"] is String)
            }
        }
    }

    @Test func anUnknownJobIsNotFound() async throws {
        try await Harness().makeApplication().test(.router) { client in
            try await client.execute(uri: "/jobs/no-such-job", method: .get) { response in
                #expect(response.status == .notFound)
                #expect(Self.object(response)["error"] as? String == "not_found")
            }
        }
    }

    @Test func aDisabledPoolRunsInline() async throws {
        let harness = Harness(enabled: false)
        try await harness.makeApplication().test(.router) { client in
            try await client.execute(
                uri: "/workers/run/arcanos",
                method: .post,
                headers: Self.confirmed,
                body: Self.body(#"{"input":"inline"}"#)
            ) { response in
                #expect(response.status == .ok)
                let body = Self.object(response)
                #expect(body["result"] as? String == "arcanos: INLINE" && body["jobId"] == nil)
            }
            try await client.execute(uri: "/ready", method: .get) { response in
                #expect(response.status == .ok, "a pool disabled on purpose does not make the server unready")
            }
        }
        #expect(try await harness.store.stats(now: Date()).depth == 0)
    }

    @Test func readinessWaitsForThePoolToStart() async throws {
        let harness = Harness()
        #expect(await WorkerPoolReadiness(pool: harness.supervisor).notReadyReasons() == ["worker pool not started"])
        try await harness.makeApplication().test(.router) { client in
            try await harness.events.waitFor { if case .poolStarted = $0 { true } else { false } }
            try await harness.events.waitFor(2) { if case .workerStarted = $0 { true } else { false } }
            try await client.execute(uri: "/ready", method: .get) { response in
                #expect(response.status == .ok)
            }
        }
    }
}

/// The real server wiring (SQLite store, inventory of the shipped examples, the pool) through sockets.
@Suite(.timeLimit(.minutes(2))) struct WorkerLiveTests {
    @Test func theShippedCommandModuleRunsThroughTheServer() async throws {
        let workers = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .appendingPathComponent("../../workers").standardized.path
        try await withLiveServer(environment: ["ARCANOS_WORKERS_DIR": workers, "WORKER_COUNT": "2"]) { server in
            let run = try await post(
                server + "/workers/run/uppercase",
                json: #"{"input":"hello from a worker"}"#,
                headers: ["x-confirmed": "yes"]
            )
            #expect(run.status == 200)
            #expect(run.json["success"] as? Bool == true)
            #expect(run.json["result"] as? String == "HELLO FROM A WORKER")
            let jobID = try #require(run.json["jobId"] as? String)
            let job = try await get(server + "/jobs/\(jobID)")
            #expect(
                job.status == 200 && job.json["status"] as? String == "succeeded" && job.json["attempts"] as? Int == 1
            )
            let accepted = try await post(
                server + "/jobs",
                json: #"{"worker":"uppercase","input":"queued"}"#,
                headers: ["x-confirmed": "yes"]
            )
            #expect(accepted.status == 202 && accepted.json["id"] is String)
            let ready = try await get(server + "/ready")
            #expect(ready.status == 200, "\(ready.body)")
        }
    }

    @Test func aFinishedJobIsDeletedOnceItsRetentionHasPassed() async throws {
        let workers = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .appendingPathComponent("../../workers").standardized.path
        let environment = ["ARCANOS_WORKERS_DIR": workers, "WORKER_COUNT": "1", "JOB_RETENTION_MS": "300"]
        try await withLiveServer(environment: environment) { server in
            let run = try await post(
                server + "/workers/run/uppercase",
                json: #"{"input":"short-lived"}"#,
                headers: ["x-confirmed": "yes"]
            )
            let jobID = try #require(run.json["jobId"] as? String)
            // Sweeps run every 300 ms here: the job goes within a few of them, not at once.
            try await Condition.wait("the job is swept", within: .seconds(10), every: .milliseconds(100)) {
                let status = try await get(server + "/jobs/\(jobID)").status
                #expect(status == 200 || status == 404)
                return status == 404
            }
        }
    }
}
