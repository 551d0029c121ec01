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

    @Test func aHealExecutedOnOneReplicaIsListedOnTheOther() async throws {
        try await PostgresTestDatabase.withFreshDatabase { databaseURL in
            let environment = [
                "DATABASE_URL": databaseURL, "ARCANOS_WORKERS_DIR": Self.workers, "WORKER_COUNT": "1",
                "SELF_TEST_INTERVAL_MS": "0",
            ]
            try await withLiveServer(environment: environment) { a in
                try await withLiveServer(environment: environment) { b in
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
                }
            }
        }
    }
}
