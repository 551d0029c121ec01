import ArcanosCore
import ArcanosTesting
import Foundation
import Testing

/// Issue 16, finding 1, on the real server wiring (`ArcanosServer`: SQLite store, the shipped modules, the
/// supervised pool) against a fake model that fails and then recovers, through real sockets.
@Suite(.timeLimit(.minutes(2))) struct ModelOutageLiveTests {
    static let workers = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("../../workers").standardized.path

    func environment(_ baseURL: String) -> [String: String] {
        [
            "OPENAI_API_KEY": "test-key", "OPENAI_BASE_URL": baseURL, "AI_MODEL": "mock-model",
            "ARCANOS_WORKERS_DIR": Self.workers, "WORKER_COUNT": "4", "SELF_TEST_INTERVAL_MS": "0",
            // Three restarts in a minute would be a storm: twenty model failures must not count as one.
            "SAFETY_WORKER_RESTART_THRESHOLD": "3",
            "OPENAI_MAX_ATTEMPTS": "1", "OPENAI_BREAKER_THRESHOLD": "2", "OPENAI_BREAKER_COOLDOWN_MS": "300",
            "JOB_RETRY_BACKOFF_MS": "100", "JOB_POLL_INTERVAL_MS": "50",
        ]
    }

    /// The same confirmation `POST /workers/run` takes; sent on every job so the test holds whichever gate
    /// `POST /jobs` has.
    static let confirmed = ["x-confirmed": "yes"]

    struct Progress {
        var statuses: [String: String] = [:]
        var attempts: [String: Int] = [:]
        var errors: [String: String] = [:]

        func count(_ status: String) -> Int { self.statuses.values.filter { $0 == status }.count }
    }

    /// Reads every job once, and the pool's status: it must never be `unsafe`.
    func poll(_ server: String, _ ids: [String]) async throws -> Progress {
        let status = try await get(server + "/workers/status")
        #expect(status.status == 200)
        let state = status.json[path: "supervisor.state"] as? String
        #expect(state == "running", "the pool stays up while the model is down: \(state ?? "nil")")
        var progress = Progress()
        for id in ids {
            let job = try await get(server + "/jobs/\(id)")
            progress.statuses[id] = job.json["status"] as? String
            progress.attempts[id] = job.json["attempts"] as? Int
            progress.errors[id] = job.json["error"] as? String
        }
        return progress
    }

    /// Polls until `done` holds for the jobs, or fails the test at the deadline.
    func waitUntil(
        _ server: String,
        _ ids: [String],
        within deadline: Duration,
        _ done: (Progress) -> Bool
    ) async throws -> Progress {
        let end = ContinuousClock.now + deadline
        while true {
            let progress = try await self.poll(server, ids)
            if done(progress) { return progress }
            guard ContinuousClock.now < end else {
                Issue.record("not done within \(deadline): \(progress.statuses)")
                return progress
            }
            try await Task.sleep(for: .milliseconds(100))
        }
    }

    func enqueue(_ server: String, worker: String, input: String) async throws -> String {
        let accepted = try await post(
            server + "/jobs",
            json: #"{"worker":"\#(worker)","input":"\#(input)"}"#,
            headers: Self.confirmed
        )
        #expect(accepted.status == 202, "\(accepted.body)")
        return try #require(accepted.json["id"] as? String)
    }

    @Test("issue 16: a model outage is not a crash: prompt jobs wait, command jobs run, all finish once it is back")
    func aModelOutageIsNotACrash() async throws {
        let fake = FakeOpenAIServer(mode: .error500)
        try await fake.withRunning { baseURL in
            try await withLiveServer(environment: self.environment(baseURL)) { server in
                let start = ContinuousClock.now
                var prompts: [String] = []
                for index in 0..<20 {
                    prompts.append(try await self.enqueue(server, worker: "summarize", input: "text number \(index)"))
                }
                // Every prompt job has been tried against the failing model at least once and is back in the
                // queue, uncharged, rather than failed; the pool never went unsafe on the way.
                let waiting = try await self.waitUntil(server, prompts, within: .seconds(45)) { progress in
                    progress.errors.values.filter { $0.contains("waiting for the model") }.count == 20
                }
                #expect(waiting.count("queued") + waiting.count("running") == 20)
                #expect(waiting.count("failed") == 0 && waiting.count("succeeded") == 0)
                #expect(waiting.attempts.values.allSatisfy { $0 <= 1 }, "no attempt charged: \(waiting.attempts)")
                let allWaiting = start.duration(to: .now)

                // Command modules keep running meanwhile.
                var commands: [String] = []
                for index in 0..<5 {
                    commands.append(try await self.enqueue(server, worker: "uppercase", input: "command \(index)"))
                }
                let ran = try await self.waitUntil(server, commands, within: .seconds(30)) {
                    $0.count("succeeded") == 5
                }
                #expect(ran.count("succeeded") == 5)
                let commandsDone = start.duration(to: .now)
                // The outage goes on through several breaker cycles (each half-open probe fails): still no crash,
                // and the waiting jobs do not hammer the model (one probe per cycle, not one call per job).
                let still = try await self.waitUntil(server, prompts, within: .seconds(30)) { _ in
                    fake.requestCount >= 6
                }
                #expect(still.count("failed") == 0 && still.count("succeeded") == 0)
                for id in commands.prefix(1) {
                    #expect(try await get(server + "/jobs/\(id)").json["result"] as? String == "COMMAND 0")
                }

                // The model comes back: every queued prompt job succeeds, with no heal and no restart.
                let requestsWhileDown = fake.requestCount
                fake.mode = .ok
                let back = ContinuousClock.now
                let finished = try await self.waitUntil(server, prompts, within: .seconds(45)) {
                    $0.count("succeeded") == 20
                }
                #expect(finished.count("succeeded") == 20)
                print(
                    "model outage live: all 20 prompt jobs waiting after \(allWaiting), 5 command jobs done after "
                        + "\(commandsDone), \(requestsWhileDown) model requests in \(start.duration(to: back)) down, "
                        + "20 prompt jobs done "
                        + "\(back.duration(to: .now)) after recovery"
                )
                #expect(finished.attempts.values.allSatisfy { $0 == 1 }, "\(finished.attempts)")

                let status = try await get(server + "/workers/status")
                #expect(status.json[path: "supervisor.state"] as? String == "running")
                #expect(status.json[path: "supervisor.crashes"] as? Int == 0)
                #expect(status.json[path: "supervisor.restarts"] as? Int == 0)
                #expect(status.json[path: "supervisor.storms"] as? Int == 0)
                #expect(status.json[path: "supervisor.poolRestarts"] as? Int == 0, "no operator action, no restart")
            }
        }
    }
}
