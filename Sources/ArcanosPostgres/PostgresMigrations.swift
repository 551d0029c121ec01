import Logging
import PostgresNIO

/// Versioned schema changes, applied at start in one transaction that first takes a transaction-scoped
/// advisory lock: replicas starting together queue on the lock, and the second finds the versions the first
/// recorded in `arcanos_migrations` and applies nothing. A failed migration rolls back whole.
public struct PostgresMigrations: Sendable {
    public struct Migration: Sendable {
        /// Unique within one `PostgresMigrations`, applied in increasing order.
        public var version: Int
        public var name: String
        /// One statement each: the extended protocol runs one statement per query.
        public var statements: [String]

        public init(version: Int, name: String, statements: [String]) {
            self.version = version
            self.name = name
            self.statements = statements
        }
    }

    /// The advisory lock's key: one number for every Arcanos migration in the database ("arcanos" in ASCII).
    static let lockKey: Int64 = 0x6172_6361_6E6F_73

    let migrations: [Migration]

    public init(_ migrations: [Migration]) {
        self.migrations = migrations.sorted { $0.version < $1.version }
    }

    /// Applies the migrations not yet recorded, and returns their versions.
    @discardableResult
    public func apply(on client: PostgresClient, logger: Logger) async throws -> [Int] {
        let migrations = self.migrations
        return try await client.withTransaction(logger: logger) { connection in
            try await connection.query("SELECT pg_advisory_xact_lock(\(Self.lockKey))", logger: logger)
            try await connection.query(
                """
                CREATE TABLE IF NOT EXISTS arcanos_migrations (
                    name TEXT PRIMARY KEY, version INTEGER NOT NULL, applied_at TIMESTAMPTZ NOT NULL DEFAULT now()
                )
                """,
                logger: logger
            )
            var applied: Set<String> = []
            let rows = try await connection.query("SELECT name FROM arcanos_migrations", logger: logger)
            for try await name in rows.decode(String.self) { applied.insert(name) }
            var newlyApplied: [Int] = []
            for migration in migrations where !applied.contains(migration.key) {
                for statement in migration.statements {
                    try await connection.query(PostgresQuery(unsafeSQL: statement), logger: logger)
                }
                try await connection.query(
                    "INSERT INTO arcanos_migrations (name, version) VALUES (\(migration.key), \(migration.version))",
                    logger: logger
                )
                logger.info("applied migration", metadata: ["migration": "\(migration.key)"])
                newlyApplied.append(migration.version)
            }
            return newlyApplied
        }
    }
}

extension PostgresMigrations.Migration {
    /// How `arcanos_migrations` records it: `v1-jobs`.
    var key: String { "v\(self.version)-\(self.name)" }
}
