import ArcanosCore
import Logging
import PostgresNIO
import ServiceLifecycle

/// Fast pickup across replicas. Every statement of `PostgresJobStore` that makes a job claimable now (an
/// enqueue, a release without delay) also runs `pg_notify` on `channel`, delivered when it commits; this
/// service `LISTEN`s on a connection of its own (the pool has no `LISTEN`) and wakes this replica's idle workers
/// (`JobQueueSignals.workAvailable()`) for each notification another replica sent. Its own are skipped: the
/// process that wrote the job has already woken its workers.
///
/// Notifications sent while it is not listening are lost, so each (re)connection first signals work once:
/// the claims that follow find whatever was missed. After the connection drops it reconnects with `reconnect`
/// backoff; the workers' poll (`JOB_POLL_INTERVAL_MS`) remains the backstop meanwhile.
public final class PostgresJobNotifier: Service, Sendable {
    /// The channel of job notifications (per database); the payload is the sending store's `origin`.
    static let channel = "arcanos_jobs"

    private let database: PostgresDatabaseService
    private let signals: JobQueueSignals
    private let origin: String
    private let catchUpWakeUps: Int
    private let reconnect: Backoff
    private let logger: Logger

    /// - Parameters:
    ///   - store: this replica's store: its own notifications are skipped.
    ///   - catchUpWakeUps: how many idle workers each (re)connection wakes: the pool's size, so that a
    ///     backlog missed meanwhile is taken by all of them.
    ///   - reconnect: the wait before each reconnection, growing while they fail.
    public init(
        database: PostgresDatabaseService,
        store: PostgresJobStore,
        signals: JobQueueSignals,
        catchUpWakeUps: Int,
        reconnect: Backoff = Backoff(initial: .milliseconds(100), maximum: .seconds(5)),
        logger: Logger
    ) {
        self.database = database
        self.signals = signals
        self.origin = store.origin
        self.catchUpWakeUps = catchUpWakeUps
        self.reconnect = reconnect
        self.logger = logger
    }

    public func run() async {
        await cancelWhenGracefulShutdown {
            await self.reconnect.reconnecting(
                logger: self.logger,
                interrupted: "job notifications interrupted; reconnecting"
            ) { connected in
                try await self.database.listen(on: Self.channel, connectionID: 1, logger: self.logger) {
                    notifications in
                    connected()
                    self.logger.debug("listening for job notifications")
                    // The catch-up: whatever was notified while nobody listened.
                    self.signals.workAvailable(count: self.catchUpWakeUps)
                    for try await notification in notifications where notification.payload != self.origin {
                        self.signals.workAvailable()
                    }
                }
            }
        }
    }
}
