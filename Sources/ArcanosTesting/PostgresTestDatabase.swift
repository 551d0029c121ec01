import ArcanosCore
import ArcanosPostgres
import Foundation
import Logging
import PostgresNIO

/// The PostgreSQL server the tests use: `ARCANOS_TEST_DATABASE_URL` (`.ci/run` starts one with
/// `scripts/postgres.sh` and exports it). Without it, PostgreSQL tests are skipped locally, with the reason
/// shown, and fail under CI: there they must never be silently skipped.
public enum PostgresTestDatabase {
    public static let variable = "ARCANOS_TEST_DATABASE_URL"

    public static var url: String? {
        ProcessInfo.processInfo.environment[Self.variable].flatMap { $0.isEmpty ? nil : $0 }
    }

    /// For `.enabled(if:)`: the tests run when there is a server, and under CI (where a missing server fails).
    public static var shouldRun: Bool {
        Self.url != nil || ProcessInfo.processInfo.environment["CI"] != nil
    }

    /// Why they were skipped, for `.enabled(if:_:)`'s comment.
    public static let skipMessage =
        "ARCANOS_TEST_DATABASE_URL is not set: PostgreSQL tests skipped (scripts/postgres.sh start prints a URL)"

    /// The URL, or an error naming the variable (under CI, where the tests must not be skipped).
    public static func requireURL() throws -> String {
        guard let url = Self.url else { throw MissingDatabase() }
        return url
    }

    struct MissingDatabase: Error, CustomStringConvertible {
        var description: String {
            "\(PostgresTestDatabase.variable) is not set, and CI is: the PostgreSQL tests must run "
                + "(.ci/run starts a server with scripts/postgres.sh)"
        }
    }

    /// A database of its own on the test server, dropped after `body`, which gets its URL: for whole servers
    /// configured through `DATABASE_URL`.
    public static func withFreshDatabase<Result: Sendable>(
        _ body: @Sendable (_ url: String) async throws -> Result
    ) async throws -> Result {
        let url = try Self.requireURL()
        let name = Self.uniqueName("test")
        var components = URLComponents(string: url)
        components?.path = "/" + name
        guard let databaseURL = components?.string else {
            throw ArcanosError.invalidRequest("\(Self.variable) is not a URL")
        }
        return try await Self.withAdmin(url) { admin in
            try await admin.query("CREATE DATABASE \(unescaped: name)")
            return try await Self.run(body: { try await body(databaseURL) }) {
                try await admin.query("DROP DATABASE \(unescaped: name) WITH (FORCE)")
            }
        }
    }

    /// A schema of its own on the test server, dropped after `body`; `body` gets the startup parameters
    /// (`search_path`) that make a connection use it. Cheaper than a database, for store tests.
    public static func withFreshSchema<Result: Sendable>(
        _ body: @Sendable (_ url: PostgresURL, _ startupParameters: [(String, String)]) async throws -> Result
    ) async throws -> Result {
        let url = try Self.requireURL()
        let schema = Self.uniqueName("test")
        return try await Self.withAdmin(url) { admin in
            try await admin.query("CREATE SCHEMA \(unescaped: schema)")
            return try await Self.run(body: { try await body(PostgresURL(url), [("search_path", schema)]) }) {
                try await admin.query("DROP SCHEMA \(unescaped: schema) CASCADE")
            }
        }
    }

    /// A `PostgresDatabaseService` with `migrations` in a fresh schema, running (and migrated) while `body` runs.
    public static func withFreshSchemaDatabase<Result: Sendable>(
        migrations: [PostgresMigrations.Migration],
        _ body: @Sendable (PostgresDatabaseService) async throws -> Result
    ) async throws -> Result {
        try await Self.withFreshSchema { url, startupParameters in
            let database = try PostgresDatabaseService(
                url: url,
                source: Self.variable,
                poolSize: 8,
                migrations: migrations,
                startupParameters: startupParameters,
                logger: Self.quietLogger
            )
            return try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { try await database.run() }
                defer { group.cancelAll() }
                try await database.ready()
                return try await body(database)
            }
        }
    }

    /// Runs `client` while `body` runs, and stops it after.
    public static func withRunningClient<Result: Sendable>(
        _ client: PostgresClient,
        _ body: @Sendable (PostgresClient) async throws -> Result
    ) async throws -> Result {
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { await client.run() }
            defer { group.cancelAll() }
            return try await body(client)
        }
    }

    /// A client on the test server's own database, running while `body` runs: to shape what a test sees.
    public static func withAdminClient<Result: Sendable>(
        _ body: @Sendable (PostgresClient) async throws -> Result
    ) async throws -> Result {
        try await Self.withAdmin(Self.requireURL(), body)
    }

    private static func withAdmin<Result: Sendable>(
        _ url: String,
        _ body: @Sendable (PostgresClient) async throws -> Result
    ) async throws -> Result {
        let configuration = try PostgresURL(url).clientConfiguration(poolSize: 2)
        return try await Self.withRunningClient(PostgresClient(configuration: configuration), body)
    }

    /// `body`, then `cleanUp` whether or not it threw.
    private static func run<Result: Sendable>(
        body: () async throws -> Result,
        cleanUp: () async throws -> Void
    ) async throws -> Result {
        do {
            let result = try await body()
            try await cleanUp()
            return result
        } catch {
            try? await cleanUp()
            throw error
        }
    }

    static let quietLogger = Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() })

    /// A fresh, uniquely named identifier: `prefix_<hex>`, for a schema or database of one test.
    public static func uniqueName(_ prefix: String) -> String {
        prefix + "_" + UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased()
    }
}
