import ArcanosApp
import ArcanosCore
import ArcanosHTTP
import ArcanosTesting
import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import Testing

/// The self-test and the watchdog through the real server wiring (`buildApplication`, real sockets), against the
/// fake OpenAI-compatible model. Waits are on the pipeline's completion stream, bounded by a deadline.
@Suite(.timeLimit(.minutes(2))) struct SelfTestLiveTests {
    func environment(_ modelURL: String, _ extra: [String: String] = [:]) -> [String: String] {
        [
            "OPENAI_API_KEY": "test-key", "OPENAI_BASE_URL": modelURL, "AI_MODEL": "mock-model",
            "OPENAI_TIMEOUT_MS": "1000", "OPENAI_MAX_ATTEMPTS": "1", "RUN_WORKERS": "false",
        ].merging(extra) { _, new in new }
    }

    struct DeadlineExceeded: Error, CustomStringConvertible {
        var what: String
        var description: String { "no \(self.what) before the deadline" }
    }

    /// The first summary from `stream` that satisfies `predicate`, or an error once `deadline` has passed.
    func first(
        _ what: String,
        in stream: AsyncStream<SelfTestSummary>,
        within deadline: Duration,
        where predicate: @escaping @Sendable (SelfTestSummary) -> Bool
    ) async throws -> SelfTestSummary {
        try await withThrowingTaskGroup(of: SelfTestSummary?.self) { group in
            group.addTask {
                for await summary in stream where predicate(summary) { return summary }
                return nil
            }
            group.addTask {
                try await Task.sleep(for: deadline)  // a bound on the wait, not the wait itself
                return nil
            }
            defer { group.cancelAll() }
            guard let summary = try await group.next() ?? nil else { throw DeadlineExceeded(what: what) }
            return summary
        }
    }

    func readJSON(_ path: String) throws -> [String: Any] {
        let data = try Data(contentsOf: URL(fileURLWithPath: path))
        return try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
    }

    @Test func aFailingModelTurnsTheMirroredSelfTestToFailAndItsRecoveryBackToPass() async throws {
        let interval = Duration.milliseconds(2000)
        let fake = FakeOpenAIServer(mode: .error500)
        // A short first open time (OPENAI_BREAKER_COOLDOWN_MS is its old name): it doubles with each failed
        // probe while the model is down, and a long one would keep /ask degraded after the model recovers,
        // whatever the self-test does.
        let environment = self.environment(
            "",
            ["SELF_TEST_INTERVAL_MS": "2000", "OPENAI_BREAKER_COOLDOWN_MS": "200"]
        )
        try await fake.withRunning { modelURL in
            var environment = environment
            environment["OPENAI_BASE_URL"] = modelURL
            try await withLiveServerInstance(environment: environment) { baseURL, server in
                let statePath = server.configuration.server.dataDirectory + "/systemState.json"
                let logPath = server.configuration.server.dataDirectory + "/logs/healthcheck.json"
                let failures = await server.selfTest.completions()
                let started = ContinuousClock.now

                // Down from the start: the first periodic run fails, within two intervals.
                let failed = try await self.first("failed self-test", in: failures, within: interval * 2 + .seconds(1))
                {
                    $0.status == .fail
                }
                let failedAfter = started.duration(to: .now)
                // The first run starts within 1.1 intervals; its three probes take a moment more on a loaded machine.
                #expect(failedAfter <= interval * 2 + .seconds(1), "failed after \(failedAfter)")
                #expect(failed.triggeredBy == .interval)
                #expect(failed.results.allSatisfy { $0.statusCode == 503 && $0.message.hasPrefix("degraded answer") })
                var state = try self.readJSON(statePath)
                #expect(state[path: "selfTest.status"] as? String == "fail")
                #expect(state[path: "selfTest.failCount"] as? Int == 3)
                #expect(state["version"] != nil, "the state manager's keys stay")
                let log = try self.readJSON(logPath)
                #expect((log["history"] as? [[String: Any]])?.last?["success"] as? Bool == false)

                // The model recovers: the next run passes, within one (jittered) interval.
                let passes = await server.selfTest.completions()
                fake.mode = .ok
                let recovered = ContinuousClock.now
                let passed = try await self.first("passing self-test", in: passes, within: interval + .seconds(2)) {
                    $0.status == .pass
                }
                let passedAfter = recovered.duration(to: .now)
                // While failing, the next run starts at most one interval after the last one ended; allow for
                // the run itself (one may have been in flight) on a loaded machine.
                #expect(passedAfter <= interval + .milliseconds(500), "passed after \(passedAfter)")
                #expect(passed.results.allSatisfy { $0.statusCode == 200 && $0.activeModel == "mock-model" })
                state = try self.readJSON(statePath)
                #expect(state[path: "selfTest.status"] as? String == "pass")
                #expect(state[path: "selfTest.baseUrl"] as? String == baseURL, "the bound address, learned at start")
                print("self-test live: fail observed after \(failedAfter), pass \(passedAfter) after recovery")
            }
        }
    }

    @Test func theRouteRunsTheSelfTestOnTheRealServerAndStatusShowsItAndTheWatchdog() async throws {
        let fake = FakeOpenAIServer(mode: .ok)
        try await fake.withRunning { modelURL in
            let environment = self.environment(modelURL, ["ARCANOS_AUTO_HEAL": "plan"])
            try await withLiveServerInstance(environment: environment) { baseURL, server in
                let refused = try await post(baseURL + "/devops/self-test", json: "{}")
                #expect(refused.status == 403)
                let rejected = try await post(
                    baseURL + "/devops/self-test",
                    json: #"{"url":"http://127.0.0.1:1"}"#,
                    headers: ["x-confirmed": "yes"]
                )
                #expect(rejected.status == 400)

                let response = try await post(baseURL + "/devops/self-test", json: "", headers: ["x-confirmed": "yes"])
                #expect(response.status == 200)
                #expect(response.json["status"] as? String == "pass")
                #expect(response.json["triggeredBy"] as? String == "api")
                #expect(response.json["baseUrl"] as? String == baseURL)
                #expect(fake.requestCount == 3)

                let state = try self.readJSON(server.configuration.server.dataDirectory + "/systemState.json")
                #expect(state[path: "selfTest.status"] as? String == "pass")

                let status = try await get(baseURL + "/workers/status")
                #expect(status.status == 200)
                #expect(status.json[path: "selfTest.status"] as? String == "pass")
                #expect(status.json[path: "selfTest.stale"] as? Bool == false)
                #expect(status.json[path: "watchdog.mode"] as? String == "plan")
                #expect(status.json[path: "watchdog.escalated"] as? Bool == false)
                #expect(status.json[path: "watchdog.consecutiveCritical"] as? Int != nil)
                #expect(!status.body.contains("Self-test: are you online"), "no prompt text in the public status")
            }
        }
    }
}
