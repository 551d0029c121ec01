import ArcanosCore
import ArcanosTesting
import Foundation
import Logging
import PostgresNIO
import Testing

@testable import ArcanosPostgres

/// The job store contract on PostgreSQL, each case in a schema of its own, so runs never see each other's jobs.
@Suite(.enabled(if: PostgresTestDatabase.shouldRun, Comment(rawValue: PostgresTestDatabase.skipMessage)))
struct PostgresJobStoreContractTests {
    @Test(.timeLimit(.minutes(1)), arguments: JobStoreContract.Case.allCases)
    func postgresStoreKeepsTheContract(_ check: JobStoreContract.Case) async throws {
        try await withFreshSchemaStore { store in
            try await JobStoreContract { store }.run(check)
        }
    }

    @Test(.timeLimit(.minutes(1)))
    func replicasMigratingTogetherApplyEachMigrationOnce() async throws {
        try await PostgresTestDatabase.withFreshSchema { url, startupParameters in
            var configuration = url.clientConfiguration(poolSize: 2)
            configuration.options.additionalStartupParameters = startupParameters
            let clients = (0..<4).map { _ in PostgresClient(configuration: configuration) }
            let applied = try await withThrowingTaskGroup(of: [Int].self) { group in
                for client in clients {
                    group.addTask {
                        try await PostgresTestDatabase.withRunningClient(client) { client in
                            try await PostgresMigrations(PostgresJobStore.migrations)
                                .apply(on: client, logger: quietLogger)
                        }
                    }
                }
                return try await group.reduce(into: []) { $0 += $1 }
            }
            #expect(applied == [1], "one replica applied v1, the others found it applied: \(applied)")
        }
    }

    @Test(.timeLimit(.minutes(1)))
    func deletesALargeBacklogOfFinishedJobsInBatches() async throws {
        try await withFreshSchemaStore { store in
            let t0 = Date(timeIntervalSince1970: 1_800_000_000)
            let count = 2_100
            for index in 0..<count {
                _ = try await store.enqueue(
                    NewJob(id: "j\(index)", worker: "echo", input: "x", maxAttempts: 1),
                    now: t0
                )
            }
            while let lease = try await store.claim(owner: "w", leaseDuration: .seconds(10), now: t0) {
                _ = try await store.complete(lease, result: "done", now: t0)
            }
            _ = try await store.enqueue(NewJob(id: "live", worker: "echo", input: "x", maxAttempts: 1), now: t0)
            #expect(try await store.deleteFinished(before: t0.addingTimeInterval(1)) == count)
            #expect(try await store.job(id: "j0") == nil)
            #expect(try await store.job(id: "live")?.status == .queued)
        }
    }

    @Test(.timeLimit(.minutes(1)))
    func whileTheDatabaseIsAwayQueriesFailWithinTheDeadlineThenRecover() async throws {
        try await PostgresTestDatabase.withFreshDatabase { databaseURL in
            let url = try PostgresURL(databaseURL)
            let database = try PostgresDatabaseService(
                url: url,
                source: PostgresTestDatabase.variable,
                poolSize: 4,
                migrations: PostgresJobStore.migrations,
                logger: quietLogger
            )
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { try await database.run() }
                defer { group.cancelAll() }
                let store = PostgresJobStore(database: database, logger: quietLogger)
                let t0 = Date(timeIntervalSince1970: 1_800_000_000)
                _ = try await store.enqueue(NewJob(id: "kept", worker: "echo", input: "x", maxAttempts: 1), now: t0)
                // Away: no new connection is accepted and the open ones are closed.
                try await PostgresTestDatabase.withAdminClient { admin in
                    try await admin.query("ALTER DATABASE \(unescaped: url.database) ALLOW_CONNECTIONS false")
                    try await admin.query(
                        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = \(url.database)"
                    )
                }
                let start = ContinuousClock.now
                let error = await #expect(throws: ArcanosError.self) { try await store.job(id: "kept") }
                #expect(error?.code == .storeUnavailable)
                #expect(start.duration(to: .now) < .seconds(3), "a 503 within about 2 s, not a hang")
                #expect(await store.notReadyReasons() == ["job store (PostgreSQL) is not reachable"])
                _ = try await PostgresTestDatabase.withAdminClient { admin in
                    try await admin.query("ALTER DATABASE \(unescaped: url.database) ALLOW_CONNECTIONS true")
                }
                try await Condition.wait("the store answers again", within: .seconds(30), every: .milliseconds(200)) {
                    (try? await store.job(id: "kept"))?.status == .queued
                }
            }
        }
    }

    @Test func storeReportsReadyWhenReachable() async throws {
        try await withFreshSchemaStore { store in
            #expect(await store.notReadyReasons().isEmpty)
        }
    }
}

@Suite struct PostgresURLTests {
    @Test func parsesEveryPartAndNeverShowsThePassword() throws {
        let url = try PostgresURL("postgres://arcanos:s%40cret@db.internal:6543/jobs?sslmode=require")
        #expect(url.host == "db.internal" && url.port == 6543 && url.username == "arcanos")
        #expect(url.password == "s@cret" && url.database == "jobs" && url.sslMode == .require)
        #expect(url.description == "postgres://arcanos@db.internal:6543/jobs")
    }

    @Test func defaultsPortDatabaseAndTLS() throws {
        let url = try PostgresURL("postgresql://app@localhost")
        #expect(url.port == 5432 && url.database == "app" && url.sslMode == .prefer && url.password == nil)
    }

    @Test(arguments: [
        "mysql://a:b@host/db", "postgres://", "postgres://:pw@host/db", "not a url", "postgres://a:b@host/db?ssl=1",
        "postgres://a:b@host/db?sslmode=maybe",
    ])
    func rejectsMalformedURLsWithoutRepeatingThem(_ string: String) throws {
        let error = try #require(throws: ArcanosError.self) { try PostgresURL(string) }
        #expect(error.code == .invalidRequest)
        #expect(!error.message.contains(":b@") && !error.message.contains("pw"))
    }
}

/// A `PostgresJobStore` in a fresh schema, its database running (and migrated) while `body` runs.
func withFreshSchemaStore<Result: Sendable>(
    _ body: @Sendable (PostgresJobStore) async throws -> Result
) async throws -> Result {
    try await PostgresTestDatabase.withFreshSchemaDatabase(migrations: PostgresJobStore.migrations) { database in
        try await body(PostgresJobStore(database: database, logger: quietLogger))
    }
}

@Suite(.enabled(if: PostgresTestDatabase.shouldRun, Comment(rawValue: PostgresTestDatabase.skipMessage)))
struct PostgresSharedStateContractTests {
    @Test(.timeLimit(.minutes(1)), arguments: SharedStateContract.Case.allCases)
    func postgresStoreKeepsTheContract(_ check: SharedStateContract.Case) async throws {
        try await PostgresTestDatabase.withFreshSchemaDatabase(migrations: PostgresSharedStateStore.migrations) {
            database in
            try await SharedStateContract { PostgresSharedStateStore(database: database, logger: quietLogger) }.run(
                check
            )
        }
    }
}

@Suite(.enabled(if: PostgresTestDatabase.shouldRun, Comment(rawValue: PostgresTestDatabase.skipMessage)))
struct PostgresClusterStoreContractTests {
    @Test(.timeLimit(.minutes(1)), arguments: ClusterStoreContract.Case.allCases)
    func postgresStoreKeepsTheContract(_ check: ClusterStoreContract.Case) async throws {
        try await PostgresTestDatabase.withFreshSchemaDatabase(migrations: PostgresClusterStore.migrations) {
            database in
            try await ClusterStoreContract { PostgresClusterStore(database: database, logger: quietLogger) }.run(check)
        }
    }
}

@Suite(.enabled(if: PostgresTestDatabase.shouldRun, Comment(rawValue: PostgresTestDatabase.skipMessage)))
struct PostgresSharedBreakerStoreContractTests {
    @Test(.timeLimit(.minutes(1)), arguments: SharedBreakerStoreContract.Case.allCases)
    func postgresStoreKeepsTheContract(_ check: SharedBreakerStoreContract.Case) async throws {
        try await PostgresTestDatabase.withFreshSchemaDatabase(migrations: PostgresClusterStore.migrations) {
            database in
            try await SharedBreakerStoreContract { PostgresClusterStore(database: database, logger: quietLogger) }
                .run(check)
        }
    }
}

let quietLogger = Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() })

@Suite(.enabled(if: PostgresTestDatabase.shouldRun, Comment(rawValue: PostgresTestDatabase.skipMessage)))
struct PostgresHealAuditLogTests {
    @Test(.timeLimit(.minutes(1)))
    func passesTheAuditLogContract() async throws {
        try await PostgresTestDatabase.withFreshSchemaDatabase(migrations: PostgresHealAuditLog.migrations) {
            database in
            try await AuditLogContract.verify(PostgresHealAuditLog(database: database, logger: quietLogger))
        }
    }

    @Test(.timeLimit(.minutes(1)))
    func storedRecordsCarryNoSecret() async throws {
        try await PostgresTestDatabase.withFreshSchemaDatabase(migrations: PostgresHealAuditLog.migrations) {
            database in
            let log = PostgresHealAuditLog(database: database, logger: quietLogger)
            var record = AuditLogContract.sampleRecord(index: 2, at: Date())
            record.plan.message = "The provider said: invalid Authorization: Bearer sk-live-abcdefghijklmnop"
            record.outcomeDetail = "retry with api_key=supersecretvalue"
            try await log.append(record)
            var stored: [String] = []
            let rows = try await database.query("SELECT record FROM heal_audit", logger: quietLogger)
            for try await json in rows.decode(String.self) { stored.append(json) }
            #expect(stored.count == 1)
            #expect(!stored.joined().contains("sk-live") && !stored.joined().contains("supersecretvalue"))
        }
    }
}
