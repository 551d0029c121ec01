import ArcanosCore
import ArcanosTesting
import Foundation
import Synchronization
import Testing

/// Issue 13: PostgreSQL stopped under load and started again, through the real server. The test runs a
/// server of its own (`scripts/postgres.sh` in a directory of its own), since it stops it.
@Suite(
    .enabled(if: PostgresTestDatabase.shouldRun, Comment(rawValue: PostgresTestDatabase.skipMessage)),
    .timeLimit(.minutes(2))
)
struct PostgresOutageLiveTests {
    @Test func whilePostgreSQLIsStoppedAskAnswersStoreRoutesAre503AndEveryAcknowledgedJobSucceedsAfter()
        async throws
    {
        // A command worker slow enough (200 ms a task, two workers) that jobs are still queued at the stop.
        let workers = makeTemporaryDirectory()
        try #"{"id": "slow-upper", "description": "upper-cases after 200 ms", "kind": "command", "#
            .appending(#""command": ["/bin/sh", "-c", "sleep 0.2; tr a-z A-Z"], "timeout": 10000, "retries": 2}"#)
            .write(toFile: workers + "/slow-upper.json", atomically: true, encoding: .utf8)
        try await PrivatePostgres.withServer { postgres, databaseURL in
            try await FakeOpenAIServer(mode: .ok).withRunning { modelURL in
                let environment = [
                    "DATABASE_URL": databaseURL, "ARCANOS_WORKERS_DIR": workers,
                    "WORKER_COUNT": "2", "SELF_TEST_INTERVAL_MS": "0", "OPENAI_API_KEY": "test-key",
                    "OPENAI_BASE_URL": modelURL, "AI_MODEL": "mock-model",
                ]
                try await withLiveServer(environment: environment) { server in
                    try await Self.outage(server: server, postgres: postgres)
                }
            }
        }
    }

    static func outage(server: String, postgres: PrivatePostgres) async throws {
        let asks = AskLoad()
        try await withThrowingTaskGroup(of: Void.self) { group in
            // Two clients calling /ask back to back from before the stop until after the restart.
            for client in 0..<2 {
                group.addTask { try await asks.run(server: server, client: client) }
            }
            try await Condition.wait("/ask answers", within: .seconds(10)) { asks.count > 0 }

            var acknowledged: [String] = []
            for index in 0..<40 {
                let accepted = try await post(
                    server + "/jobs",
                    json: #"{"worker":"slow-upper","input":"before the stop \#(index)"}"#,
                    headers: ["x-confirmed": "yes"]
                )
                #expect(accepted.status == 202, "\(accepted.body)")
                acknowledged.append(try #require(accepted.json["id"] as? String))
            }

            let last = try await get(server + "/jobs/\(acknowledged[acknowledged.count - 1])").json
            #expect(last["status"] as? String == "queued", "the stop must find jobs still queued: \(last)")
            try await postgres.stop()
            let asksBeforeOutage = asks.count
            let firstJob = acknowledged[0]
            for (name, request) in [
                (
                    "POST /jobs",
                    {
                        try await post(
                            server + "/jobs",
                            json: #"{"worker":"slow-upper","input":"during the stop"}"#,
                            headers: ["x-confirmed": "yes"]
                        )
                    }
                ),
                ("GET /jobs/:id", { try await get(server + "/jobs/\(firstJob)") }),
                ("GET /workers/heals", { try await get(server + "/workers/heals") }),
            ] as [(String, () async throws -> LiveResponse)] {
                let response = try await request()
                #expect(response.status == 503, "\(name): \(response.body)")
                #expect(response.json["error"] as? String == "store_unavailable", "\(name): \(response.body)")
                // The 2 s query deadline, and the time to answer after it.
                #expect(response.elapsed < .milliseconds(2500), "\(name) took \(response.elapsed)")
            }
            let health = try await get(server + "/health")
            #expect(health.status == 200, "\(health.body)")
            let ready = try await get(server + "/ready")
            #expect(ready.status == 503, "\(ready.body)")
            #expect(ready.body.contains("job store"), "\(ready.body)")
            #expect(ready.elapsed < .milliseconds(2500), "/ready took \(ready.elapsed)")
            try await Condition.wait("/ask answers while PostgreSQL is stopped", within: .seconds(10)) {
                asks.count > asksBeforeOutage + 5
            }

            _ = try await postgres.start()
            try await Condition.wait("every job acknowledged before the stop succeeds", within: .seconds(60)) {
                for id in acknowledged {
                    guard try await get(server + "/jobs/\(id)").json["status"] as? String == "succeeded" else {
                        return false
                    }
                }
                return true
            }
            for (index, id) in acknowledged.enumerated() {
                let job = try await get(server + "/jobs/\(id)").json
                #expect(job["result"] as? String == "BEFORE THE STOP \(index)", "\(job)")
            }
            // The pool resumed by itself: a job enqueued now runs too.
            let after = try await post(
                server + "/jobs",
                json: #"{"worker":"slow-upper","input":"after the restart"}"#,
                headers: ["x-confirmed": "yes"]
            )
            #expect(after.status == 202, "\(after.body)")
            let id = try #require(after.json["id"] as? String)
            try await Condition.wait("a job enqueued after the restart succeeds", within: .seconds(10)) {
                try await get(server + "/jobs/\(id)").json["status"] as? String == "succeeded"
            }
            // A store outage is not the workers' fault: none was restarted for it.
            let status = try await get(server + "/workers/status")
            #expect(status.json[path: "supervisor.restarts"] as? Int == 0, "\(status.body)")
            let ready2 = try await get(server + "/ready")
            #expect(ready2.status == 200, "\(ready2.body)")
            asks.stop()
            try await group.waitForAll()
        }
        #expect(asks.failures.isEmpty, "/ask answers other than 200: \(asks.failures)")
    }
}

/// Clients calling `/ask` until stopped, counting answers and keeping every one that was not a 200.
final class AskLoad: Sendable {
    private struct State {
        var count = 0
        var failures: [String] = []
        var stopped = false
    }
    private let state = Mutex(State())

    var count: Int { self.state.withLock { $0.count } }
    var failures: [String] { self.state.withLock { $0.failures } }
    func stop() { self.state.withLock { $0.stopped = true } }

    func run(server: String, client: Int) async throws {
        var index = 0
        while !self.state.withLock({ $0.stopped }) {
            let response = try await post(server + "/ask", json: #"{"prompt":"client \#(client) call \#(index)"}"#)
            self.state.withLock {
                $0.count += 1
                if response.status != 200 { $0.failures.append("\(response.status) \(response.body)") }
            }
            index += 1
        }
    }
}

/// A PostgreSQL server of the test's own, in a fresh directory, through `scripts/postgres.sh`: one the test
/// may stop and start again (on the same port, so the server's URL stays valid).
struct PrivatePostgres: Sendable {
    static let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("../../scripts/postgres.sh").standardized.path
    let directory: String

    /// Starts one, runs `body` with it and its URL, then stops it and removes its directory.
    static func withServer<Result: Sendable>(
        _ body: @Sendable (PrivatePostgres, String) async throws -> Result
    ) async throws -> Result {
        let parent = makeTemporaryDirectory()
        let postgres = PrivatePostgres(directory: parent + "/postgres")
        defer { try? FileManager.default.removeItem(atPath: parent) }
        do {
            let result = try await body(postgres, try await postgres.start())
            try await postgres.stop()
            return result
        } catch {
            try? await postgres.stop()
            throw error
        }
    }

    /// Returns its URL once it accepts connections (the script writes it then).
    @discardableResult
    func start() async throws -> String {
        let urlFile = self.directory + "/url"
        try? FileManager.default.removeItem(atPath: urlFile)
        // Not waited for: Foundation learns that a child exited when a descriptor it left open in it is
        // closed, and the server the script starts keeps it open; the process is reaped once that stops.
        _ = try self.launch("start")
        var url = ""
        try await Condition.wait("PostgreSQL starts", within: .seconds(60)) {
            url = (try? String(contentsOfFile: urlFile, encoding: .utf8)) ?? ""
            return url.hasSuffix("\n")
        }
        return url.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// Returns once it has stopped (fast mode: sessions are cut).
    func stop() async throws {
        let launched = try self.launch("stop")
        let status = await launched.exit.value
        guard status == 0 else { throw ScriptFailed(command: "stop", status: status) }
    }

    private func launch(_ command: String) throws -> (process: Process, exit: OneShot<Int32>) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/bash")
        process.arguments = [Self.script, command, self.directory]
        process.standardOutput = FileHandle.nullDevice
        let exit = OneShot<Int32>()
        process.terminationHandler = { exit.resolve($0.terminationStatus) }
        try process.run()
        return (process, exit)
    }

    struct ScriptFailed: Error, CustomStringConvertible {
        var command: String
        var status: Int32
        var description: String { "scripts/postgres.sh \(self.command) exited with \(self.status)" }
    }
}
