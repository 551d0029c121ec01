import ArcanosApp
import ArcanosCore
import ArcanosPostgres
import ArcanosTesting
import Foundation
import Logging
import ServiceLifecycle
import Testing

/// `DATABASE_URL` through the real server wiring: its configuration, a start-up that cannot reach the server,
/// and two replicas sharing one job queue on a real PostgreSQL.
@Suite struct PostgresConfigurationTests {
    @Test func withoutADatabaseURLTheJobsStayInSQLite() throws {
        let configuration = try configuration(environment: [:])
        #expect(configuration.database.url == nil && configuration.database.poolSize == 20)
    }

    @Test func readsTheURLAndThePoolSize() throws {
        let configuration = try configuration(environment: [
            "DATABASE_URL": "postgres://app:secret@db.internal:6543/arcanos", "ARCANOS_DATABASE_POOL_SIZE": "7",
        ])
        #expect(configuration.database.url?.description == "postgres://app@db.internal:6543/arcanos")
        #expect(configuration.database.poolSize == 7)
    }

    @Test(arguments: ["mysql://app:hunter2@db/arcanos", "postgres://app:hunter2@/arcanos", "hunter2"])
    func aMalformedURLStopsStartUpNamingTheVariableNotThePassword(_ url: String) throws {
        let error = try #require(throws: ArcanosError.self) {
            try configuration(environment: ["DATABASE_URL": url])
        }
        #expect(error.code == .configurationInvalid)
        #expect(error.message.hasPrefix("DATABASE_URL "), "\(error.message)")
        #expect(!error.message.contains("hunter2"), "\(error.message)")
    }

    @Test(arguments: ["0", "1001", "many"])
    func aPoolSizeOutOfRangeStopsStartUp(_ size: String) throws {
        let error = try #require(throws: ArcanosError.self) {
            try configuration(environment: ["ARCANOS_DATABASE_POOL_SIZE": size])
        }
        #expect(error.message.contains("ARCANOS_DATABASE_POOL_SIZE"))
    }

    @Test(.timeLimit(.minutes(1)))
    func anUnreachableServerStopsStartUpNamingTheVariableAndTheHost() async throws {
        // Port 1 (tcpmux): nothing listens there on a loopback test machine.
        let port = 1
        var configuration = try configuration(environment: [
            "DATABASE_URL": "postgres://app:hunter2@127.0.0.1:\(port)/arcanos?sslmode=disable"
        ])
        configuration.server.port = 0
        configuration.server.dataDirectory = makeTemporaryDirectory()
        let server = try buildApplication(configuration: configuration, logger: quietLogger)
        let group = ServiceGroup(configuration: .init(services: [server.application], logger: quietLogger))
        let error = await #expect(throws: (any Error).self) { try await group.run() }
        let message = "\(error.map { String(describing: $0) } ?? "")"
        #expect(message.contains("DATABASE_URL") && message.contains("127.0.0.1:\(port)"), "\(message)")
        #expect(!message.contains("hunter2"), "\(message)")
    }
}

@Suite(
    .enabled(if: PostgresTestDatabase.shouldRun, Comment(rawValue: PostgresTestDatabase.skipMessage)),
    .timeLimit(.minutes(1))
)
struct PostgresReplicaLiveTests {
    static let workers = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("../../workers").standardized.path

    @Test func aJobEnqueuedOnOneReplicaIsReadOnTheOtherAndRunsOnce() async throws {
        try await PostgresTestDatabase.withFreshDatabase { databaseURL in
            let environment = [
                "DATABASE_URL": databaseURL, "ARCANOS_WORKERS_DIR": Self.workers, "WORKER_COUNT": "2",
                "SELF_TEST_INTERVAL_MS": "0",
            ]
            try await withLiveServer(environment: environment) { a in
                try await withLiveServer(environment: environment) { b in
                    var ids: [String] = []
                    for index in 0..<20 {
                        let accepted = try await post(
                            a + "/jobs",
                            json: #"{"worker":"uppercase","input":"job \#(index)"}"#,
                            headers: ["x-confirmed": "yes"]
                        )
                        #expect(accepted.status == 202, "\(accepted.body)")
                        ids.append(try #require(accepted.json["id"] as? String))
                    }
                    // Read on B straight away: it is there whatever its state.
                    let first = try await get(b + "/jobs/\(ids[0])")
                    #expect(first.status == 200, "\(first.body)")
                    try await Condition.wait("every job finishes", within: .seconds(30)) {
                        for id in ids {
                            let status = try await get(b + "/jobs/\(id)").json["status"] as? String
                            guard status == "succeeded" || status == "failed" else { return false }
                        }
                        return true
                    }
                    for (index, id) in ids.enumerated() {
                        let job = try await get(a + "/jobs/\(id)").json
                        #expect(job["status"] as? String == "succeeded", "\(job)")
                        #expect(job["result"] as? String == "JOB \(index)", "\(job)")
                        #expect(job["attempts"] as? Int == 1, "claimed once, by one replica: \(job)")
                    }
                }
            }
        }
    }

    @Test func aHealExecutedOnOneReplicaIsListedOnTheOtherAndIsItsLastHeal() async throws {
        try await PostgresTestDatabase.withFreshDatabase { databaseURL in
            let environment = [
                "DATABASE_URL": databaseURL, "ARCANOS_WORKERS_DIR": Self.workers, "WORKER_COUNT": "1",
                "SELF_TEST_INTERVAL_MS": "0",
            ]
            let directoryB = makeTemporaryDirectory()
            defer { try? FileManager.default.removeItem(atPath: directoryB) }
            try await withLiveServer(environment: environment) { a in
                try await withLiveServerInstance(environment: environment, dataDirectory: directoryB) { b, _ in
                    let heal = try await post(
                        a + "/workers/heal",
                        json: #"{"execute":true}"#,
                        headers: ["x-confirmed": "yes"]
                    )
                    #expect(heal.status == 200, "\(heal.body)")
                    let planId = try #require(heal.json[path: "plan.planId"] as? String)
                    let listed = try await get(b + "/workers/heals")
                    #expect(listed.status == 200, "\(listed.body)")
                    let heals = try #require(listed.json["heals"] as? [[String: Any]])
                    #expect(heals.count == 1 && heals.first?[path: "plan.planId"] as? String == planId, "\(heals)")
                    // B never healed: its lastHeal is A's, and B mirrors it in its own systemState.json.
                    let status = try await get(b + "/workers/status?view=detail")
                    #expect(status.json[path: "lastHeal.planId"] as? String == planId, "\(status.body)")
                    let text = try String(contentsOfFile: directoryB + "/systemState.json", encoding: .utf8)
                    let document = try #require(
                        try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any]
                    )
                    #expect(document[path: "workers.lastHeal.planId"] as? String == planId, "\(text)")
                }
            }
        }
    }

    @Test func aChallengeFromOneReplicaPassesOnceOnTheOtherAndATokenMintedOnOneWorksOnceOnTheOther() async throws {
        try await PostgresTestDatabase.withFreshDatabase { databaseURL in
            let secret = "replica-automation-secret-0123456789"
            let environment = [
                "DATABASE_URL": databaseURL, "ARCANOS_WORKERS_DIR": Self.workers, "WORKER_COUNT": "1",
                "SELF_TEST_INTERVAL_MS": "0", "ARCANOS_AUTOMATION_SECRET": secret,
            ]
            try await withLiveServer(environment: environment) { a in
                try await withLiveServer(environment: environment) { b in
                    // A person's challenge: issued by A, used at B, replayed at A.
                    let refused = try await post(a + "/workers/heal", json: "{}")
                    #expect(refused.status == 403, "\(refused.body)")
                    let challenge = try #require(refused.headers["x-confirmation-challenge"], "\(refused.body)")
                    let confirmed = ["x-confirmed": "token:\(challenge)"]
                    let passed = try await post(b + "/workers/heal", json: "{}", headers: confirmed)
                    #expect(passed.status == 200, "\(passed.body)")
                    #expect(passed.headers["x-confirmation-status"] == "challenge-token")
                    let replayed = try await post(a + "/workers/heal", json: "{}", headers: confirmed)
                    #expect(replayed.status == 403, "a replay on the issuing replica is refused: \(replayed.body)")

                    // An automation's token: minted at A, used at B, replayed at A.
                    let minted = try await post(
                        a + "/confirm/tokens",
                        json: "{}",
                        headers: ["x-arcanos-automation": secret]
                    )
                    #expect(minted.status == 201, "\(minted.body)")
                    let token = try #require(minted.json["token"] as? String)
                    let withToken = ["x-arcanos-confirm-token": token]
                    let used = try await post(b + "/workers/heal", json: "{}", headers: withToken)
                    #expect(used.status == 200, "\(used.body)")
                    #expect(used.headers["x-confirmation-status"] == "one-time-token")
                    let reused = try await post(a + "/workers/heal", json: "{}", headers: withToken)
                    #expect(reused.status == 403, "a used token is refused everywhere: \(reused.body)")
                }
            }
        }
    }

    @Test func theHealRateLimitCountsEveryReplica() async throws {
        try await PostgresTestDatabase.withFreshDatabase { databaseURL in
            let environment = [
                "DATABASE_URL": databaseURL, "ARCANOS_WORKERS_DIR": Self.workers, "WORKER_COUNT": "1",
                "SELF_TEST_INTERVAL_MS": "0", "ARCANOS_HEAL_RATE_LIMIT_MAX": "3",
            ]
            try await withLiveServer(environment: environment) { a in
                try await withLiveServer(environment: environment) { b in
                    for base in [a, b, a] {
                        let plan = try await post(base + "/workers/heal", json: "{}", headers: ["x-confirmed": "yes"])
                        #expect(plan.status == 200, "\(plan.body)")
                    }
                    let limited = try await post(b + "/workers/heal", json: "{}", headers: ["x-confirmed": "yes"])
                    #expect(limited.status == 429, "the fourth heal, on either replica, is over the limit of 3")
                    #expect(limited.headers["retry-after"] != nil)
                }
            }
        }
    }
}
