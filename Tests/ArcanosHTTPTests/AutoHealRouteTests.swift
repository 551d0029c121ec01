import ArcanosApp
import ArcanosCore
import ArcanosHTTP
import ArcanosStore
import ArcanosTesting
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import NIOCore
import Testing

/// The auto-heal routes through the real router: the gate, strict bodies, the decision table, single-flight
/// execution, the state file, the audit and the status projection.
@Suite(.timeLimit(.minutes(1))) struct AutoHealRouteTests {
    static let trustedID = "ft:gpt-4o-mini:arcanos:heal"
    static let secretPrompt = "my private prompt about the quarterly numbers"

    struct Harness {
        let pool: FakeWorkerPool
        let audit = InMemoryHealAuditLog()
        let storage = InMemorySystemStateStorage()
        let state: SystemStateManager
        let events = EventLog<HealService.Event>()
        let configuration: AppConfiguration
        let askService: AskService
        let workersDirectory: String
        let heal: HealService
        let status: WorkerStatusService
        let errorRate = ErrorRateMonitor()

        init(
            pool: FakeWorkerPool = FakeWorkerPool(),
            rateLimitMax: Int = 100,
            configure: (inout AppConfiguration) -> Void = { _ in }
        ) {
            self.pool = pool
            var configuration = AppConfiguration()
            configuration.server.dataDirectory = makeTemporaryDirectory()
            configuration.model.model = "test-model"
            configuration.confirmation.trustedGPTIDs = [AutoHealRouteTests.trustedID]
            configuration.heal.rateLimitMax = rateLimitMax
            configure(&configuration)
            self.configuration = configuration
            self.workersDirectory = makeTemporaryDirectory()
            let client = ResilientLLMClient(
                provider: ScriptedLLMProvider(whenEmpty: .fail(LLMFailure(.serverError, statusCode: 500))),
                configuration: .init(models: configuration.model.chain, retry: .init(maxAttempts: 1)),
                logger: quietLogger
            )
            self.askService = AskService(client: client)
            self.state = SystemStateManager(storage: self.storage, version: "test", logger: quietLogger)
            let record = SharedRecord(store: InMemorySharedStateStore(), state: self.state, logger: quietLogger)
            self.status = WorkerStatusService(
                configuration: .init(
                    workersDirectory: self.workersDirectory,
                    systemModel: configuration.model.model,
                    environment: configuration.server.environment,
                    dataDirectory: configuration.server.dataDirectory
                ),
                inventory: WorkerInventory(directory: self.workersDirectory),
                pool: pool,
                jobStore: InMemoryJobStore(),
                askService: self.askService,
                errorRate: self.errorRate,
                record: record
            )
            self.heal = HealService(
                configuration: .init(
                    rateLimit: .init(
                        maximum: configuration.heal.rateLimitMax,
                        window: configuration.heal.rateLimitWindow
                    )
                ),
                status: self.status,
                planner: RecoveryPlanner(client: client, configuration: .init(aiEnabled: false), logger: quietLogger),
                pool: pool,
                record: record,
                limits: record.store,
                audit: self.audit,
                logger: quietLogger,
                observer: self.events.recorder
            )
        }

        func makeApplication() -> HTTPApplication {
            componentApplication(self.configuration, askService: self.askService) {
                $0.autoHeal = AutoHealRoutes(status: self.status, heal: self.heal, audit: self.audit)
            }
        }

        func stateDocument() throws -> [String: JSONValue] {
            let text = try #require(self.storage.contents)
            guard case .object(let object) = try JSONDecoder().decode(JSONValue.self, from: Data(text.utf8)) else {
                throw ArcanosError(.stateCorrupted, "not an object")
            }
            return object
        }
    }

    static func json(_ buffer: ByteBuffer) -> JSONValue {
        (try? JSONDecoder().decode(JSONValue.self, from: Data(buffer.readableBytesView))) ?? .null
    }

    static func headers(_ pairs: [(String, String)]) -> HTTPFields {
        var fields = HTTPFields()
        for (name, value) in pairs { fields[HTTPField.Name(name)!] = value }
        return fields
    }

    static let human = [("x-confirmed", "yes"), ("content-type", "application/json")]
    static let trusted = [("x-gpt-id", trustedID), ("content-type", "application/json")]

    // MARK: - Decision table through the router

    struct DecisionRow: Sendable, CustomTestStringConvertible {
        var name: String
        var headers: [(String, String)]
        var body: String
        var executes: Bool
        var autoExecuted: Bool
        var testDescription: String { self.name }
    }

    static let decisions: [DecisionRow] = [
        .init(name: "human default: plan only", headers: human, body: "", executes: false, autoExecuted: false),
        .init(name: "human {}: plan only", headers: human, body: "{}", executes: false, autoExecuted: false),
        .init(
            name: "human execute:true",
            headers: human,
            body: #"{"execute":true}"#,
            executes: true,
            autoExecuted: false
        ),
        .init(
            name: "human mode execute",
            headers: human,
            body: #"{"mode":"execute"}"#,
            executes: true,
            autoExecuted: false
        ),
        .init(
            name: "human execute:false",
            headers: human,
            body: #"{"execute":false}"#,
            executes: false,
            autoExecuted: false
        ),
        .init(name: "trusted id auto-executes", headers: trusted, body: "", executes: true, autoExecuted: true),
        .init(
            name: "trusted with mode plan",
            headers: trusted,
            body: #"{"mode":"plan"}"#,
            executes: false,
            autoExecuted: false
        ),
        .init(
            name: "trusted with execute:false",
            headers: trusted,
            body: #"{"execute":false}"#,
            executes: false,
            autoExecuted: false
        ),
        .init(
            name: "automation secret auto-executes",
            headers: [("x-arcanos-automation", "s3cret-automation-value"), ("content-type", "application/json")],
            body: "{}",
            executes: true,
            autoExecuted: true
        ),
    ]

    @Test(arguments: Self.decisions)
    func healFollowsTheDecisionTable(_ row: DecisionRow) async throws {
        let harness = Harness { $0.confirmation.automationSecret = "s3cret-automation-value" }
        try await harness.makeApplication().test(.router) { client in
            try await client.execute(
                uri: "/workers/heal",
                method: .post,
                headers: Self.headers(row.headers),
                body: ByteBuffer(string: row.body)
            ) { response in
                #expect(response.status == .ok)
                #expect(response.headers[.cacheControl] == "no-store")
                #expect(response.headers[HTTPField.Name("x-confirmation-status")!] != nil)
                let body = Self.json(response.body)
                #expect(
                    body["plan"] != nil && body["autoHeal"] != nil && body["runtime"] != nil && body["timestamp"] != nil
                )
                let execution = body["execution"]
                #expect((execution != nil) == row.executes)
                if let execution {
                    #expect(execution["autoExecuted"]?.bool == row.autoExecuted)
                    #expect(execution["verified"]?.bool == true)
                    #expect(execution["restart"] != nil)
                    let confirmation = execution["confirmation"]
                    #expect(confirmation?["trustedAutomation"]?.bool == row.autoExecuted)
                }
            }
        }
        #expect(harness.pool.restartCount == (row.executes ? 1 : 0))
        // Every heal request is audited, plan-only ones too.
        let records = harness.audit.records
        #expect(records.count == 1)
        #expect(records.first?.outcome == (row.executes ? .executed : .planned))
        #expect(records.first?.decision.autoExecuted == row.autoExecuted)
    }

    @Test func anUnconfirmedHealIsTurnedAwayByTheGateAndNotAudited() async throws {
        let harness = Harness()
        try await harness.makeApplication().test(.router) { client in
            try await client.execute(
                uri: "/workers/heal",
                method: .post,
                headers: [.contentType: "application/json"],
                body: ByteBuffer(string: #"{"execute":true}"#)
            ) {
                response in
                #expect(response.status == .forbidden)
                #expect(response.headers[HTTPField.Name("x-confirmation-status")!] == "pending")
            }
        }
        #expect(harness.pool.restartCount == 0)
        #expect(harness.audit.records.isEmpty)
    }

    @Test(arguments: [
        (#"{"mode":"plan","execute":true}"#, "mode"),
        (#"{"execute":"false"}"#, "execute"),
        (#"{"mode":"reboot"}"#, "mode"),
        (#"{"force":"yes"}"#, "force"),
        (#"{"excute":true}"#, "excute"),
        ("[true]", "body"),
        ("{nope", "body"),
    ])
    func invalidBodiesAre400WithDetailsAndChangeNothing(body: String, field: String) async throws {
        let harness = Harness()
        try await harness.makeApplication().test(.router) { client in
            try await client.execute(
                uri: "/workers/heal",
                method: .post,
                headers: Self.headers(Self.trusted),
                body: ByteBuffer(string: body)
            ) { response in
                #expect(response.status == .badRequest)
                let json = Self.json(response.body)
                #expect(json["error"]?.text == "INVALID_WORKER_HEAL_REQUEST")
                #expect((json["message"]?.text)?.isEmpty == false)
                let details = json["details"]?.array ?? []
                #expect(details.contains { $0["field"]?.text == field })
                #expect(response.headers[HTTPField.Name("x-confirmation-status")!] == "trusted-gpt")
            }
        }
        #expect(harness.pool.restartCount == 0)
        #expect(harness.audit.records.isEmpty)
    }

    // MARK: - Execution

    @Test func eightConcurrentExecutesShareOneRestart() async throws {
        let harness = Harness()
        harness.pool.kill(["arcanos-worker-2"])
        harness.pool.holdRestarts()
        try await harness.makeApplication().test(.router) { client in
            let bodies = try await withThrowingTaskGroup(of: JSONValue.self) { group in
                for _ in 0..<8 {
                    group.addTask {
                        try await client.execute(
                            uri: "/workers/heal",
                            method: .post,
                            headers: Self.headers(Self.human),
                            body: ByteBuffer(string: #"{"mode":"execute"}"#)
                        ) { response in
                            #expect(response.status == .ok)
                            return Self.json(response.body)
                        }
                    }
                }
                // Every request is inside the restart before it is allowed to finish.
                try await harness.events.waitFor(1) { $0 == .restartStarted }
                try await harness.events.waitFor(7) { $0 == .restartJoined }
                harness.pool.releaseRestarts()
                var bodies: [JSONValue] = []
                for try await body in group { bodies.append(body) }
                return bodies
            }
            let executions = bodies.compactMap { $0["execution"] }
            #expect(executions.count == 8)
            #expect(executions.filter { $0["shared"]?.bool == false }.count == 1)
            #expect(executions.allSatisfy { $0["verified"]?.bool == true })
            let runtimes = bodies.compactMap { $0["runtime"] }
            for runtime in runtimes {
                let ids = runtime["workerIds"]?.strings ?? []
                #expect(ids.count == 4)
                #expect(Set(ids).count == ids.count)
            }
        }
        #expect(harness.pool.restartCount == 1)
        let document = try harness.stateDocument()
        let lastHeal = try #require(document["workers"]?["lastHeal"])
        #expect(lastHeal["verified"] == true)
        #expect(lastHeal["planId"]?.stringValue != nil)
        #expect(lastHeal["severity"] == "critical")
        #expect(lastHeal["confirmation"]?["status"] == "confirmed")
        #expect(document["status"] == "running")
        let outcomes = harness.audit.records.map(\.outcome)
        #expect(outcomes.filter { $0 == .executed }.count == 1)
        #expect(outcomes.filter { $0 == .joined }.count == 7)
    }

    @Test("issue 16: a plain heal of an unsafe pool runs (on probation); force also resets the storm guard")
    func aTrippedStormGuardDoesNotRefuseAHeal() async throws {
        let harness = Harness()
        harness.pool.setStormGuardTripped(true)
        try await harness.makeApplication().test(.router) { client in
            try await client.execute(
                uri: "/workers/heal",
                method: .post,
                headers: Self.headers(Self.trusted),
                body: ByteBuffer(string: "{}")
            ) { response in
                let body = Self.json(response.body)
                #expect(body["execution"] != nil)
                #expect(body[path: "decision.outcome"]?.text == "executed")
                #expect(body[path: "plan.recommendedAction"]?.text == "restart-workers")
            }
            harness.pool.setStormGuardTripped(true)
            try await client.execute(
                uri: "/workers/heal",
                method: .post,
                headers: Self.headers(Self.trusted),
                body: ByteBuffer(string: #"{"force":true}"#)
            ) { response in
                #expect(Self.json(response.body)["execution"] != nil)
            }
        }
        #expect(harness.pool.restartCount == 2)
        #expect(harness.pool.resetStormGuardRequests == [false, true])
        #expect(harness.audit.records.map(\.outcome) == [.executed, .executed])
    }

    @Test func aDisabledPoolIsNeverRestartedByAHeal() async throws {
        let harness = Harness(pool: FakeWorkerPool(enabled: false))
        try await harness.makeApplication().test(.router) { client in
            try await client.execute(
                uri: "/workers/heal",
                method: .post,
                headers: Self.headers(Self.human),
                body: ByteBuffer(string: #"{"execute":true,"force":true}"#)
            ) { response in
                let body = Self.json(response.body)
                #expect(body["execution"] == nil)
                #expect((body[path: "decision.detail"]?.text)?.contains("RUN_WORKERS=false") == true)
            }
        }
        #expect(harness.pool.resetStormGuardRequests.isEmpty)
    }

    @Test func healsAreRateLimitedPerCallerWithRetryAfter() async throws {
        let harness = Harness(rateLimitMax: 2)
        try await harness.makeApplication().test(.router) { client in
            for _ in 0..<2 {
                try await client.execute(uri: "/workers/heal", method: .post, headers: Self.headers(Self.trusted)) {
                    #expect($0.status == .ok)
                }
            }
            try await client.execute(uri: "/workers/heal", method: .post, headers: Self.headers(Self.trusted)) {
                response in
                #expect(response.status == .tooManyRequests)
                #expect(Int(response.headers[.retryAfter] ?? "") ?? 0 >= 1)
                #expect(Self.json(response.body)["error"]?.text == "rate_limited")
            }
            // Another caller has its own budget.
            try await client.execute(
                uri: "/workers/heal",
                method: .post,
                headers: Self.headers([("x-gpt-id", Self.trustedID + "x"), ("x-confirmed", "yes")])
            ) { #expect($0.status == .ok) }
        }
        #expect(harness.audit.records.count == 3)
    }

    // MARK: - Audit history

    @Test func healHistoryIsNewestFirstAndPaginated() async throws {
        let harness = Harness()
        try await harness.makeApplication().test(.router) { client in
            for index in 0..<5 {
                try await client.execute(
                    uri: "/workers/heal",
                    method: .post,
                    headers: Self.headers(Self.human),
                    body: ByteBuffer(string: index == 4 ? #"{"execute":true}"# : "{}")
                ) { #expect($0.status == .ok) }
            }
            let first = try await client.execute(uri: "/workers/heals?limit=2", method: .get) { response in
                #expect(response.status == .ok)
                #expect(response.headers[.cacheControl] == "no-store")
                return Self.json(response.body)
            }
            let heals = first["heals"]?.array ?? []
            #expect(heals.count == 2)
            #expect(heals.first?["outcome"]?.text == "executed")
            #expect(heals.first?[path: "caller.confirmation.status"]?.text == "confirmed")
            #expect(heals.first?[path: "verification.verified"]?.bool == true)
            let next = try #require(first["nextBefore"]?.int)
            let second = try await client.execute(uri: "/workers/heals?limit=10&before=\(next)", method: .get) {
                Self.json($0.body)
            }
            #expect((second["heals"]?.array)?.count == 3)
            #expect(second["nextBefore"] == .null)
            for bad in ["limit=0", "limit=201", "limit=x", "before=-1", "before=abc", "before=9007199254740992"] {
                try await client.execute(uri: "/workers/heals?\(bad)", method: .get) { response in
                    #expect(response.status == .badRequest)
                }
            }
        }
    }

    @Test func healHistoryNeedsAnOperatorKeyWhenKeysAreConfigured() async throws {
        let harness = Harness { $0.auth.apiKeys = ["operator-key-1", "operator-key-2"] }
        try await harness.makeApplication().test(.router) { client in
            try await client.execute(uri: "/workers/heals", method: .get) { #expect($0.status == .unauthorized) }
            try await client.execute(
                uri: "/workers/heal",
                method: .post,
                headers: Self.headers(Self.human + [("authorization", "Bearer operator-key-2")])
            ) { #expect($0.status == .ok) }
            try await client.execute(
                uri: "/workers/heals",
                method: .get,
                headers: Self.headers([("authorization", "Bearer operator-key-1")])
            ) { response in
                #expect(response.status == .ok)
                let heals = Self.json(response.body)["heals"]?.array ?? []
                #expect(heals.first?[path: "caller.principal"]?.text == "api-key:2")
                #expect(!String(buffer: response.body).contains("operator-key"))
            }
        }
    }

    // MARK: - Status

    @Test func statusIsAProjectionWithoutPromptsResultsOrAbsolutePaths() async throws {
        let harness = Harness()
        harness.pool.update { runtime in
            runtime.recordDispatch(input: Self.secretPrompt, now: Date())
            runtime.recordSuccess(result: "the secret result text")
            runtime.recordFailure("command /opt/arcanos/workers/run.sh exited 2 with Bearer abcdefghijklmnop")
        }
        try Data(#"{"id":"broken","kind":"command","command":["/usr/local/bin/nope"]}"#.utf8)
            .write(to: URL(fileURLWithPath: harness.workersDirectory + "/broken.json"))
        try Data(#"{"id":"summarize","kind":"prompt","systemPrompt":"Summarize."}"#.utf8)
            .write(to: URL(fileURLWithPath: harness.workersDirectory + "/summarize.json"))
        try await harness.makeApplication().test(.router) { client in
            try await client.execute(uri: "/workers/status", method: .get) { response in
                #expect(response.status == .ok)
                #expect(response.headers[.cacheControl] == "no-store")
                let text = String(buffer: response.body)
                #expect(!text.contains(Self.secretPrompt))
                #expect(!text.contains("quarterly"))
                #expect(!text.contains("secret result"))
                #expect(!text.contains("lastInputPreview"))
                #expect(!text.contains("lastResult"))
                #expect(!text.contains(harness.workersDirectory))
                #expect(!text.contains("/opt/arcanos"))
                #expect(!text.contains("/usr/local"))
                #expect(!text.contains("abcdefghijklmnop"))
                #expect(!text.contains("\"/"))
                let body = Self.json(response.body)
                #expect(body["view"]?.text == "public")
                #expect(body["totalWorkers"]?.int == 2)
                #expect(body["availableWorkers"]?.int == 1)
                #expect(body[path: "arcanosWorkers.status"]?.text == "Active")
                #expect(body[path: "arcanosWorkers.runtime.lastError.category"]?.text == "crash")
                #expect(body[path: "autoHeal.status"]?.text == "critical")
                #expect((body[path: "autoHeal.failingWorkers"]?.strings) == ["broken"])
                for key in [
                    "timestamp", "workersDirectory", "workers", "system", "selfTest", "provider", "queue", "supervisor",
                    "lastHeal",
                ] {
                    #expect(body[key] != nil, "missing \(key)")
                }
                let workers = body["workers"]?.array ?? []
                let broken = workers.first { $0["id"]?.text == "broken" }
                #expect(broken?["available"]?.bool == false)
                #expect(broken?[path: "error.category"]?.text == "invalid_definition")
            }
        }
    }

    @Test func failingTaskAttemptsRaiseTheErrorRateSignal() async throws {
        let harness = Harness()
        try await harness.makeApplication().test(.router) { client in
            let before = try await client.execute(uri: "/workers/status", method: .get) { Self.json($0.body) }
            #expect(before[path: "autoHeal.status"]?.text == "ok")
            for index in 0..<10 {
                let outcome: WorkerPoolEvent.JobOutcome = index < 5 ? .retrying : .succeeded
                harness.errorRate.record(.jobFinished(workerID: "w", jobID: "j\(index)", outcome: outcome), at: Date())
            }
            let after = try await client.execute(uri: "/workers/status", method: .get) { Self.json($0.body) }
            #expect(after[path: "autoHeal.status"]?.text == "warning")
            #expect(after[path: "autoHeal.message"]?.text?.contains("error rate") == true)
        }
    }

    @Test func theDetailViewNeedsAnOperatorKey() async throws {
        let harness = Harness { $0.auth.apiKeys = ["operator-key"] }
        harness.pool.update { $0.recordDispatch(input: Self.secretPrompt, now: Date()) }
        try await harness.makeApplication().test(.router) { client in
            try await client.execute(uri: "/workers/status?view=detail", method: .get) {
                #expect($0.status == .unauthorized)
            }
            try await client.execute(
                uri: "/workers/status?view=detail",
                method: .get,
                headers: Self.headers([("authorization", "Bearer wrong")])
            ) { #expect($0.status == .unauthorized) }
            try await client.execute(
                uri: "/workers/status?view=detail",
                method: .get,
                headers: Self.headers([("authorization", "Bearer operator-key")])
            ) { response in
                #expect(response.status == .ok)
                let body = Self.json(response.body)
                #expect(body["view"]?.text == "detail")
                #expect(body[path: "arcanosWorkers.runtime.lastInputPreview"]?.text == Self.secretPrompt)
                // Where the workers are, relative to the data directory (both are temporary directories).
                let name = URL(fileURLWithPath: harness.workersDirectory).lastPathComponent
                #expect(body["workersDirectory"]?.text == "../" + name)
            }
            try await client.execute(uri: "/workers/status?view=everything", method: .get) {
                #expect($0.status == .badRequest)
            }
            // The public view stays public without a key.
            try await client.execute(uri: "/workers/status", method: .get) { #expect($0.status == .ok) }
        }
    }

    @Test func thePublicStatusNeverShowsTheTrustedGPTIdThatHealed() async throws {
        let harness = Harness { $0.auth.apiKeys = ["operator-key"] }
        try await harness.state.load()
        try await harness.makeApplication().test(.router) { client in
            try await client.execute(
                uri: "/workers/heal",
                method: .post,
                headers: Self.headers(Self.trusted + [("authorization", "Bearer operator-key")])
            ) { response in
                #expect(Self.json(response.body)[path: "execution.confirmation.status"]?.text == "trusted-gpt")
            }
            try await client.execute(uri: "/workers/status", method: .get) { response in
                #expect(!String(buffer: response.body).contains(Self.trustedID))
                let body = Self.json(response.body)
                #expect(body[path: "lastHeal.confirmation.status"]?.text == "trusted-gpt")
                #expect(body[path: "lastHeal.confirmation.gptId"] == .null)
            }
            try await client.execute(
                uri: "/workers/status?view=detail",
                method: .get,
                headers: Self.headers([("authorization", "Bearer operator-key")])
            ) { response in
                #expect(Self.json(response.body)[path: "lastHeal.confirmation.gptId"]?.text == Self.trustedID)
            }
        }
    }

    @Test func withoutKeysTheDetailViewIsForLoopbackPeersOnly() async throws {
        // Router tests have no peer address, so they are not loopback.
        let harness = Harness()
        try await harness.makeApplication().test(.router) { client in
            try await client.execute(uri: "/workers/status?view=detail", method: .get) {
                #expect($0.status == .forbidden)
                #expect(Self.json($0.body)["error"]?.text == "forbidden")
            }
        }
    }

    @Test func lastHealAppearsInTheStatusAfterAnExecutedHeal() async throws {
        let harness = Harness()
        try await harness.state.load()
        try await harness.makeApplication().test(.router) { client in
            let planId = try await client.execute(
                uri: "/workers/heal",
                method: .post,
                headers: Self.headers(Self.human),
                body: ByteBuffer(string: #"{"execute":true}"#)
            ) { Self.json($0.body)[path: "plan.planId"]?.text }
            try await client.execute(uri: "/workers/status", method: .get) { response in
                let body = Self.json(response.body)
                #expect(body[path: "lastHeal.planId"]?.text == planId)
                #expect(body[path: "lastHeal.verified"]?.bool == true)
                #expect((body[path: "supervisor.poolRestarts"]?.int) == 1)
            }
        }
    }
}

extension JSONValue {
    subscript(path path: String) -> JSONValue? {
        var current: JSONValue? = self
        for key in path.split(separator: ".") { current = current?[String(key)] }
        return current
    }

    var text: String? { self.stringValue }

    var bool: Bool? {
        if case .bool(let value) = self { return value }
        return nil
    }

    var int: Int? {
        if case .number(let value) = self { return Int(exactly: value) }
        return nil
    }

    var array: [JSONValue]? {
        if case .array(let value) = self { return value }
        return nil
    }

    var strings: [String]? { self.array?.compactMap(\.stringValue) }
}
