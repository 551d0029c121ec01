import ArcanosCore
import ArcanosPostgres
import ArcanosStore
import Foundation
import Logging

/// Where a server keeps what outlives a request, chosen once by `DATABASE_URL`: in PostgreSQL, shared by the
/// replicas on it, which then form a cluster; otherwise in `arcanos.sqlite` in `ARCANOS_DATA_DIR`, shared by the
/// processes on that file. The jobs, the heal audit, and the shared state (challenges, tokens, rate limits, the
/// shared record) always live together.
struct ServerStores: Sendable {
    /// PostgreSQL's parts.
    struct Postgres: Sendable {
        /// A service, started before everything that queries: the stores' first queries wait for its migrations.
        let database: PostgresDatabaseService
        let jobs: PostgresJobStore
        /// Membership, singleton leases, the cluster heal and the shared breakers.
        let cluster: PostgresClusterStore
    }

    let jobs: any JobStore & ReadinessReporting
    let audit: any AuditLog
    let sharedState: any SharedStateStore
    /// nil on SQLite: one process, no cluster.
    let postgres: Postgres?

    init(configuration: AppConfiguration, logger: Logger) throws {
        if let url = configuration.database.url {
            let database = try PostgresDatabaseService(
                url: url,
                source: "DATABASE_URL",
                poolSize: configuration.database.poolSize,
                migrations: PostgresJobStore.migrations + PostgresHealAuditLog.migrations
                    + PostgresSharedStateStore.migrations + PostgresClusterStore.migrations,
                logger: logger
            )
            let jobs = PostgresJobStore(database: database, logger: logger)
            self.jobs = jobs
            self.audit = PostgresHealAuditLog(database: database, logger: logger)
            self.sharedState = PostgresSharedStateStore(database: database, logger: logger)
            self.postgres = Postgres(
                database: database,
                jobs: jobs,
                cluster: PostgresClusterStore(database: database, logger: logger)
            )
        } else {
            // Opening migrates the schema before any service starts, so nothing sees an old one; the audit and
            // the shared state share the job store's connection pool, their migrations named apart.
            let jobs = try SQLiteJobStore(path: configuration.server.sqlitePath)
            self.jobs = jobs
            self.audit = try SQLiteHealAuditLog(sharingDatabaseOf: jobs)
            self.sharedState = try SQLiteSharedStateStore(sharingDatabaseOf: jobs)
            self.postgres = nil
        }
    }
}

extension AppConfiguration.Server {
    /// `arcanos.sqlite` in the data directory: where everything is kept without `DATABASE_URL`.
    var sqlitePath: String {
        URL(fileURLWithPath: self.dataDirectory).appendingPathComponent(SQLiteJobStore.fileName).path
    }
}
