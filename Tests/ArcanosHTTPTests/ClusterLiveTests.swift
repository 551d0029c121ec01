import ArcanosApp
import ArcanosCore
import ArcanosTesting
import Foundation
import Testing

/// Three replicas on one real PostgreSQL, through the real server wiring: the singleton work runs on one of
/// them, and moves when that one stops or dies.
@Suite(
    .enabled(if: PostgresTestDatabase.shouldRun, Comment(rawValue: PostgresTestDatabase.skipMessage)),
    .timeLimit(.minutes(2))
)
struct ClusterLiveTests {
    typealias Replica = LiveServer

    static func startReplicas(_ count: Int, environment: [String: String]) async throws -> [Replica] {
        var started: [Replica] = []
        do {
            for _ in 0..<count { started.append(try await Replica(environment: environment)) }
        } catch {
            for replica in started { await replica.kill() }
            throw error
        }
        return started
    }

    /// Stops every replica, then throws the first shutdown failure.
    static func stopAll(_ replicas: [Replica]) async throws {
        var failure: (any Error)?
        for replica in replicas {
            do { try await replica.stop() } catch { failure = failure ?? error }
        }
        if let failure { throw failure }
    }

    static func killAll(_ replicas: [Replica]) async {
        for replica in replicas { await replica.kill() }
    }

    static func totalRuns(_ replicas: [Replica]) async throws -> Int {
        var total = 0
        for replica in replicas { total += try await replica.selfTestRuns() }
        return total
    }

    static func environment(_ databaseURL: String, model: String) -> [String: String] {
        [
            "DATABASE_URL": databaseURL, "OPENAI_API_KEY": "sk-test", "OPENAI_BASE_URL": model,
            "SELF_TEST_INTERVAL_MS": "1000", "ARCANOS_REPLICA_TIMEOUT_MS": "2000", "WORKER_COUNT": "1",
        ]
    }

    @Test func theSelfTestRunsOnOneReplicaOfThreeAndMovesWhenItsLeaderDies() async throws {
        let fake = FakeOpenAIServer(mode: .ok)
        try await fake.withRunning { model in
            try await PostgresTestDatabase.withFreshDatabase { databaseURL in
                try await Self.selfTestMovesWithItsLeader(
                    environment: Self.environment(databaseURL, model: model),
                    fake: fake
                )
            }
        }
    }

    static func selfTestMovesWithItsLeader(environment: [String: String], fake: FakeOpenAIServer) async throws {
        let replicas = try await Self.startReplicas(3, environment: environment)
        do {
            try await Condition.wait("the self-test runs three times in the cluster", within: .seconds(30)) {
                try await Self.totalRuns(replicas) >= 3
            }
            var runs: [Int] = []
            for replica in replicas { runs.append(try await replica.selfTestRuns()) }
            #expect(runs.filter { $0 > 0 }.count == 1, "one replica runs the self-test: \(runs)")
            // The model saw one self-test per interval, not one per replica: every prompt of the runs counted,
            // and at most one run in progress.
            let prompts = SelfTestPrompt.defaults.count
            let total = runs.reduce(0, +)
            let calls = fake.requestCount
            #expect(calls >= total * prompts && calls <= (total + 1) * prompts, "\(calls) model calls, \(total) runs")
            let leader = try #require(runs.firstIndex { $0 > 0 })

            // Every replica sees the three, alive, with their pools; the public view shows no address.
            let status = try await get(replicas[0].url + "/workers/status").json
            let listed = try #require(status["replicas"] as? [[String: Any]], "\(status)")
            #expect(listed.count == 3 && listed.allSatisfy { $0["alive"] as? Bool == true }, "\(listed)")
            #expect(listed.filter { $0["current"] as? Bool == true }.count == 1)
            #expect(listed.allSatisfy { $0[path: "pool.configuredCount"] as? Int == 1 }, "\(listed)")
            #expect(listed.allSatisfy { $0["address"] == nil }, "\(listed)")
            let leaderID =
                try #require(
                    try await get(replicas[leader].url + "/workers/status").json["replicas"] as? [[String: Any]]
                ).first { $0["current"] as? Bool == true }?["id"] as? String

            // The leader dies without giving its lease up: another takes over once it runs out
            // (2 s) and runs the next self-test within one interval of that.
            await replicas[leader].kill()
            let survivors = replicas.indices.filter { $0 != leader }.map { replicas[$0] }
            let killedAt = ContinuousClock.now
            try await Condition.wait("a survivor runs the self-test", within: .seconds(15)) {
                try await Self.totalRuns(survivors) > 0
            }
            #expect(killedAt.duration(to: .now) < .seconds(15))
            var after: [Int] = []
            for survivor in survivors { after.append(try await survivor.selfTestRuns()) }
            #expect(after.filter { $0 > 0 }.count == 1, "one survivor took over: \(after)")
            // The survivors see the dead one as dead once it has been silent for the timeout (2 s).
            try await Condition.wait("the dead leader shows as dead", within: .seconds(10)) {
                let listed = try await get(survivors[0].url + "/workers/status").json["replicas"] as? [[String: Any]]
                return listed?.first { $0["id"] as? String == leaderID }?["alive"] as? Bool == false
            }
            // ...and the auto-heal heuristic reports it.
            let plan = try await post(survivors[0].url + "/workers/heal", json: "{}", headers: ["x-confirmed": "yes"])
            #expect(plan.json[path: "autoHeal.status"] as? String == "warning", "\(plan.body)")
            #expect(plan.body.contains("replica(s) \(leaderID ?? "?") stopped heartbeating"), "\(plan.body)")
        } catch {
            await Self.killAll(replicas)
            throw error
        }
        try await Self.stopAll(replicas)
    }

    @Test func aBreakerOpenedOnOneReplicaHoldsOnEveryReplicaAndOneProbeClosesItEverywhere() async throws {
        let fake = FakeOpenAIServer(mode: .error500)
        try await fake.withRunning { model in
            try await PostgresTestDatabase.withFreshDatabase { databaseURL in
                var environment = Self.environment(databaseURL, model: model)
                environment["SELF_TEST_INTERVAL_MS"] = "0"
                environment["OPENAI_BREAKER_THRESHOLD"] = "1"
                environment["OPENAI_MAX_ATTEMPTS"] = "1"
                environment["OPENAI_BREAKER_OPEN_MS"] = "3000"
                try await Self.breakersAreShared(environment: environment, fake: fake)
            }
        }
    }

    static func breakerPhase(_ replica: Replica) -> CircuitBreakerStateMachine<ContinuousClock.Instant>.Phase? {
        replica.server.askService.client.report().models.first?.breaker
    }

    static func breakersAreShared(environment: [String: String], fake: FakeOpenAIServer) async throws {
        let replicas = try await Self.startReplicas(3, environment: environment)
        let (a, others) = (replicas[0], Array(replicas[1...]))
        do {
            // A's model call fails and A's breaker opens (threshold 1).
            let failed = try await post(a.url + "/ask", json: #"{"prompt":"hello"}"#)
            #expect(failed.headers["x-arcanos-degraded-reason"] == "server_error", "\(failed.headers)")
            #expect(Self.breakerPhase(a) == .open)
            let opened = ContinuousClock.now
            let calls = fake.requestCount
            try await Condition.wait("B and C honour A's open breaker", within: .seconds(1), every: .milliseconds(5)) {
                others.allSatisfy { Self.breakerPhase($0) == .open }
            }
            #expect(opened.duration(to: .now) < .seconds(1))
            for replica in others {
                let answer = try await post(replica.url + "/ask", json: #"{"prompt":"hello"}"#)
                #expect(answer.headers["x-arcanos-degraded-reason"] == "circuit_open", "\(answer.headers)")
            }
            #expect(fake.requestCount == calls, "B and C answered degraded without calling the model")
            // B's status names the replica whose failures opened its breaker; A's own opening names none.
            let listed = try #require(try await get(a.url + "/workers/status").json["replicas"] as? [[String: Any]])
            let aID = try #require(listed.first { $0["current"] as? Bool == true }?["id"] as? String)
            let models = { (replica: Replica) async throws -> [[String: Any]] in
                try await get(replica.url + "/workers/status").json[path: "provider.models"] as? [[String: Any]] ?? []
            }
            #expect(try await models(others[0]).first?["breakerOpenedBy"] as? String == aID)
            #expect(try await models(a).first?["breakerOpenedBy"] == nil)

            // The model returns: when the open time is up, one replica's probe closes the breaker everywhere.
            fake.mode = .ok
            let before = fake.requestCount
            try await Condition.wait("every breaker closes", within: .seconds(10), every: .milliseconds(20)) {
                replicas.allSatisfy { Self.breakerPhase($0) == .closed }
            }
            #expect(fake.requestCount - before == 1, "one probe in the cluster: \(fake.requestCount - before)")
            let answer = try await post(others[0].url + "/ask", json: #"{"prompt":"hello"}"#)
            #expect(answer.status == 200 && answer.headers["x-arcanos-degraded-reason"] == nil, "\(answer.headers)")
        } catch {
            await Self.killAll(replicas)
            throw error
        }
        try await Self.stopAll(replicas)
    }

    /// The pool's `runtime.startedAt` as the replica itself reports it.
    static func poolStartedAt(_ replica: Replica) async throws -> String? {
        try await get(replica.url + "/workers/status?view=detail").json[path: "arcanosWorkers.runtime.startedAt"]
            as? String
    }

    @Test func aHealOnOneReplicaRestartsEveryPoolAndConcurrentHealsShareOneRestart() async throws {
        try await PostgresTestDatabase.withFreshDatabase { databaseURL in
            let environment = [
                "DATABASE_URL": databaseURL, "SELF_TEST_INTERVAL_MS": "0", "ARCANOS_REPLICA_TIMEOUT_MS": "2000",
                "WORKER_COUNT": "1", "ARCANOS_HEAL_RATE_LIMIT_MAX": "20",
            ]
            try await Self.healsRestartEveryPool(environment: environment)
        }
    }

    static func healsRestartEveryPool(environment: [String: String]) async throws {
        let replicas = try await Self.startReplicas(3, environment: environment)
        do {
            try await Condition.wait("the three see each other", within: .seconds(10)) {
                let listed = try await get(replicas[0].url + "/workers/status").json["replicas"] as? [[String: Any]]
                return listed?.filter { $0["alive"] as? Bool == true }.count == 3
            }
            var before: [String?] = []
            for replica in replicas { before.append(try await Self.poolStartedAt(replica)) }

            let heal = try await post(
                replicas[0].url + "/workers/heal",
                json: #"{"execute":true}"#,
                headers: ["x-confirmed": "yes"]
            )
            #expect(heal.status == 200, "\(heal.body)")
            #expect(heal.json[path: "decision.outcome"] as? String == "executed", "\(heal.body)")
            #expect(heal.json[path: "execution.verified"] as? Bool == true, "\(heal.body)")
            let parts = try #require(heal.json[path: "execution.replicas"] as? [[String: Any]], "\(heal.body)")
            #expect(parts.count == 3, "every replica restarted its pool: \(parts)")
            #expect(parts.allSatisfy { $0["verifyMs"] is String }, "each replica's verification is timed: \(parts)")
            for (index, replica) in replicas.enumerated() {
                let after = try await Self.poolStartedAt(replica)
                #expect(after != nil && after != before[index], "replica \(index)'s pool restarted")
            }
            let audited = try await get(replicas[1].url + "/workers/heals").json["heals"] as? [[String: Any]]
            #expect((audited?.first?["replicas"] as? [Any])?.count == 3, "the audit lists all three: \(audited ?? [])")

            // Two heals at once, on two replicas: one restart, which the other joins.
            async let first = post(
                replicas[1].url + "/workers/heal",
                json: #"{"execute":true}"#,
                headers: ["x-confirmed": "yes"]
            )
            async let second = post(
                replicas[2].url + "/workers/heal",
                json: #"{"execute":true}"#,
                headers: ["x-confirmed": "yes"]
            )
            let outcomes = [try await first, try await second].map {
                $0.json[path: "decision.outcome"] as? String
            }
            #expect(outcomes.sorted { ($0 ?? "") < ($1 ?? "") } == ["executed", "joined"], "\(outcomes)")
        } catch {
            await Self.killAll(replicas)
            throw error
        }
        try await Self.stopAll(replicas)
    }
}

extension LiveServer {
    /// Self-test runs this replica made (`arcanos_self_test_runs_total`, every outcome).
    func selfTestRuns() async throws -> Int {
        let metrics = try await get(self.url + "/metrics").body
        return metrics.split(separator: "\n")
            .filter { $0.hasPrefix(ArcanosMetrics.Name.selfTestRuns + "{") }
            .compactMap { $0.split(separator: " ").last.flatMap { Double($0) } }
            .reduce(0) { $0 + Int($1) }
    }
}
