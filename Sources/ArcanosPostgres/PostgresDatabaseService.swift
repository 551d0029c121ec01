import ArcanosCore
import Logging
import PostgresNIO
import ServiceLifecycle
import Synchronization

/// One PostgreSQL database as a `Service`: it runs the client's connection pool, checks at start that the
/// server answers (a clear error naming the setting and the host, never the password, when it does not),
/// then applies the migrations; the stores on it wait for that before their first query.
public final class PostgresDatabaseService: Service, Sendable {
    public let client: PostgresClient
    public let url: PostgresURL
    /// The setting the URL came from (`DATABASE_URL`), for start-up errors.
    private let source: String
    private let migrations: PostgresMigrations
    private let connectionConfiguration: PostgresConnection.Configuration
    private let logger: Logger
    /// nil once the database is migrated; the reason it cannot be used otherwise.
    private let startup = OneShot<ArcanosError?>()
    private let isReady = Atomic(false)

    /// - Parameters:
    ///   - source: the name of the setting `url` came from.
    ///   - startupParameters: sent with every connection (tests use a `search_path` of their own).
    public init(
        url: PostgresURL,
        source: String,
        poolSize: Int,
        migrations: [PostgresMigrations.Migration],
        startupParameters: [(String, String)] = [],
        logger: Logger
    ) throws {
        var configuration = url.clientConfiguration(poolSize: poolSize)
        configuration.options.additionalStartupParameters = startupParameters
        var connection = try url.connectionConfiguration()
        connection.options.additionalStartupParameters = startupParameters
        self.client = PostgresClient(configuration: configuration, backgroundLogger: logger)
        self.url = url
        self.source = source
        self.migrations = PostgresMigrations(migrations)
        self.connectionConfiguration = connection
        self.logger = logger
    }

    public func run() async throws {
        defer { self.startup.resolve(ArcanosError(.notReady, "the PostgreSQL database \(self.url) was shut down")) }
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { await self.client.run() }
            do {
                try await self.checkReachable()
                try await self.migrations.apply(on: self.client, logger: self.logger)
            } catch {
                let failure = ArcanosError(
                    .configurationInvalid,
                    "\(self.source): cannot use PostgreSQL at \(self.url.host):\(self.url.port) "
                        + "(\(Self.reason(error)))",
                    underlying: error
                )
                self.startup.resolve(failure)
                group.cancelAll()
                throw failure
            }
            self.isReady.store(true, ordering: .releasing)
            self.startup.resolve(nil)
            self.logger.info("PostgreSQL ready", metadata: ["database": "\(self.url)"])
            try await group.waitForAll()
        }
    }

    public var isMigrated: Bool { self.isReady.load(ordering: .acquiring) }

    /// Returns once the database is migrated; throws why it cannot be used when start-up failed.
    public func ready() async throws {
        if self.isReady.load(ordering: .acquiring) { return }
        if let failure = await self.startup.value { throw failure }
    }

    /// Runs `query` on the pool once the database is migrated: how the stores on it query. While the server
    /// is away the pool keeps retrying quietly; a query that has no answer within `queryDeadline` fails with
    /// `storeUnavailable` (503), so routes and `/ready` answer instead of hanging.
    @discardableResult
    public func query(_ query: PostgresQuery, logger: Logger) async throws -> PostgresRowSequence {
        try await self.withinDeadline { try await self.client.query(query, logger: logger) }
    }

    /// Runs `body` in one transaction on a pooled connection, under the same deadline as `query`: committed
    /// when it returns, rolled back when it throws.
    public func withTransaction<Result: Sendable>(
        logger: Logger,
        _ body: @escaping @Sendable (PostgresConnection) async throws -> Result
    ) async throws -> Result {
        try await self.withinDeadline {
            try await self.client.withTransaction(logger: logger) { connection in try await body(connection) }
        }
    }

    private func withinDeadline<Result: Sendable>(
        _ operation: @escaping @Sendable () async throws -> Result
    ) async throws -> Result {
        try await self.ready()
        return try await withThrowingTaskGroup(of: Result?.self) { group in
            group.addTask {
                do {
                    return try await operation()
                } catch let error as PSQLError where Self.isLostConnection(error) {
                    // A pooled connection the server dropped (a restart, a terminated backend) fails its query
                    // at once: the store is away, as much as when it does not answer.
                    throw ArcanosError(
                        .storeUnavailable,
                        "the PostgreSQL database \(self.url.host):\(self.url.port) dropped the connection "
                            + "(\(Self.reason(error)))"
                    )
                }
            }
            group.addTask {
                try await Task.sleep(for: Self.queryDeadline)
                return nil
            }
            defer { group.cancelAll() }
            guard let result = try await group.next(), let result else {
                throw ArcanosError(
                    .storeUnavailable,
                    "the PostgreSQL database \(self.url.host):\(self.url.port) did not answer within "
                        + "\(Self.queryDeadline.milliseconds) ms"
                )
            }
            return result
        }
    }

    public static let queryDeadline: Duration = .seconds(2)

    /// The connection, not the statement, failed: closed by either side, broken, or refused by a server
    /// shutting down (SQLSTATE classes 08, connection exception, and 57, operator intervention). A statement
    /// the server rejected (a unique violation, say) is the caller's to handle.
    static func isLostConnection(_ error: PSQLError) -> Bool {
        switch error.code {
        case .serverClosedConnection, .clientClosedConnection, .connectionError, .uncleanShutdown, .poolClosed:
            return true
        case .server:
            let state = error.serverInfo?[.sqlState] ?? ""
            return state.hasPrefix("08") || state.hasPrefix("57")
        default:
            return false
        }
    }

    /// One connection of its own, opened and closed: unlike the pool, which retries quietly, it fails at
    /// once with the server's or the socket's reason.
    private func checkReachable() async throws {
        try await self.connect(id: 0, logger: self.logger).close()
    }

    /// A connection of its own, outside the pool, with the pool's settings; the caller closes it. It fails at
    /// once when the server does not answer.
    private func connect(id: Int, logger: Logger) async throws -> PostgresConnection {
        try await PostgresConnection.connect(configuration: self.connectionConfiguration, id: id, logger: logger)
    }

    /// `LISTEN`s on `channel` on a connection of its own (the pool has none), handing `consume` the
    /// notifications, until the connection drops (throws `storeUnavailable` with the reason) or the task is
    /// cancelled (returns). The connection is closed either way.
    /// - Parameter connectionID: tells this listener's connection apart in the driver's logs.
    func listen(
        on channel: String,
        connectionID: Int,
        logger: Logger,
        _ consume: (PostgresNotificationSequence) async throws -> Void
    ) async throws {
        let connection: PostgresConnection
        do {
            connection = try await self.connect(id: connectionID, logger: logger)
        } catch {
            throw ArcanosError(.storeUnavailable, Self.reason(error))
        }
        do {
            try await connection.listen(on: channel, consume: consume)
        } catch {
            try? await connection.close()
            throw ArcanosError(.storeUnavailable, Self.reason(error))
        }
        try? await connection.close()
    }

    /// Safe to show: PostgreSQL's message (a bad password says so without repeating it) or the socket error.
    /// `PSQLError`'s own description is deliberately generic.
    static func reason(_ error: any Error) -> String {
        guard let error = error as? PSQLError else { return "\(error)" }
        if let message = error.serverInfo?[.message] { return message }
        if let underlying = error.underlying { return "\(error.code): \(underlying)" }
        return "\(error.code)"
    }
}
