import ArcanosCore
import Foundation
import Logging
import NIOCore
import PostgresNIO

/// The job queue in PostgreSQL, shared by every replica pointing at the same database: the lease rules of
/// `JobTransitions.swift` written as guarded `UPDATE`s, claims taking the next row with `FOR UPDATE SKIP LOCKED`
/// so concurrent claimers (in this process or another) never wait on each other or get the same job.
///
/// It lives in a `PostgresDatabaseService` run with `migrations`, and waits for it to be migrated.
public final class PostgresJobStore: JobStore, ReadinessReporting {
    private let database: PostgresDatabaseService
    private let logger: Logger
    /// The payload of this store's job notifications (`PostgresJobNotifier`), unique per process.
    let origin = UUID().uuidString

    public init(database: PostgresDatabaseService, logger: Logger) {
        self.database = database
        self.logger = logger
    }

    /// The `jobs` table; run them in the store's `PostgresDatabaseService`.
    public static let migrations: [PostgresMigrations.Migration] = [
        .init(
            version: 1,
            name: "jobs",
            statements: [
                // Input and result are bytes: PostgreSQL text cannot hold NUL, and the contract keeps it.
                """
                CREATE TABLE jobs (
                    id TEXT PRIMARY KEY,
                    worker TEXT NOT NULL,
                    input BYTEA NOT NULL,
                    status TEXT NOT NULL CHECK (status IN ('queued', 'running', 'succeeded', 'failed')),
                    attempts INTEGER NOT NULL DEFAULT 0,
                    max_attempts INTEGER NOT NULL,
                    fence BIGINT NOT NULL DEFAULT 0,
                    result BYTEA,
                    error TEXT,
                    available_at BIGINT NOT NULL,
                    lease_owner TEXT,
                    lease_expires_at BIGINT,
                    started_at BIGINT,
                    finished_at BIGINT,
                    created_at BIGINT NOT NULL,
                    updated_at BIGINT NOT NULL
                )
                """,
                // Partial indexes: only live jobs are indexed, so finished history does not slow claims.
                "CREATE INDEX jobs_ready ON jobs (available_at, created_at, id) WHERE status = 'queued'",
                "CREATE INDEX jobs_leased ON jobs (lease_expires_at, id) WHERE status = 'running'",
                "CREATE INDEX jobs_finished ON jobs (finished_at) WHERE status IN ('succeeded', 'failed')",
            ]
        )
    ]

    /// Every column of a job, in the order `Job(row:)` decodes them.
    private static let columns = """
        id, worker, input, status, attempts, max_attempts, fence, result, error, available_at, lease_owner,
        lease_expires_at, started_at, finished_at, created_at, updated_at
        """

    public func enqueue(_ new: NewJob, now: Date) async throws -> Job {
        let job = Job(new, now: now.storedPrecision)
        let nowMs = job.createdAt.storedMilliseconds
        do {
            // The notification is delivered when the insert commits, so a woken replica finds the job.
            let rows = try await self.database.query(
                """
                WITH inserted AS (
                    INSERT INTO jobs (id, worker, input, status, attempts, max_attempts, fence, available_at,
                        created_at, updated_at)
                    VALUES (\(job.id), \(job.worker), \(ByteBuffer(string: job.input)), 'queued', 0,
                        \(job.maxAttempts), 0, \(nowMs), \(nowMs), \(nowMs))
                    RETURNING 1
                )
                SELECT pg_notify(\(PostgresJobNotifier.channel), \(self.origin)) FROM inserted
                """,
                logger: self.logger
            )
            for try await _ in rows {}
        } catch let error as PSQLError where error.serverInfo?[.sqlState] == Self.uniqueViolation {
            throw ArcanosError.invalidRequest("a job with this id already exists")
        }
        return job
    }

    private static let uniqueViolation = "23505"

    public func job(id: String) async throws -> Job? {
        let rows = try await self.database.query(
            "SELECT \(unescaped: Self.columns) FROM jobs WHERE id = \(id)",
            logger: self.logger
        )
        for try await row in rows { return try Job(postgresRow: row) }
        return nil
    }

    /// One statement: orphans on their last attempt fail; then the orphan whose lease expired first is
    /// claimed, or else the queued job that became available first. `COALESCE` evaluates the second
    /// subquery only when the first finds nothing, so a claim locks at most one candidate.
    public func claim(owner: String, leaseDuration: Duration, now: Date) async throws -> JobLease? {
        let nowMs = now.storedMilliseconds
        let expiresAt = now.storedPrecision.addingDuration(leaseDuration).storedPrecision
        let rows = try await self.database.query(
            """
            WITH exhausted AS (
                UPDATE jobs SET status = 'failed', error = \(Job.leaseExpiredMessage), lease_owner = NULL,
                    lease_expires_at = NULL, finished_at = \(nowMs), updated_at = \(nowMs)
                WHERE id IN (
                    SELECT id FROM jobs
                    WHERE status = 'running' AND lease_expires_at <= \(nowMs) AND attempts >= max_attempts
                    FOR UPDATE SKIP LOCKED
                )
            )
            UPDATE jobs SET status = 'running', attempts = attempts + 1, fence = fence + 1,
                lease_owner = \(owner), lease_expires_at = \(expiresAt.storedMilliseconds), started_at = \(nowMs),
                updated_at = \(nowMs)
            WHERE id = COALESCE(
                (
                    SELECT id FROM jobs
                    WHERE status = 'running' AND lease_expires_at <= \(nowMs) AND attempts < max_attempts
                    ORDER BY lease_expires_at, id LIMIT 1 FOR UPDATE SKIP LOCKED
                ),
                (
                    SELECT id FROM jobs WHERE status = 'queued' AND available_at <= \(nowMs)
                    ORDER BY available_at, created_at, id LIMIT 1 FOR UPDATE SKIP LOCKED
                )
            )
            RETURNING \(unescaped: Self.columns)
            """,
            logger: self.logger
        )
        for try await row in rows {
            let job = try Job(postgresRow: row)
            return JobLease(job: job, owner: owner, fence: job.fence, expiresAt: expiresAt)
        }
        return nil
    }

    public func heartbeat(_ lease: JobLease, leaseDuration: Duration, now: Date) async throws -> JobWriteOutcome {
        let now = now.storedPrecision
        let expiresAt = now.addingDuration(leaseDuration).storedMilliseconds
        return try await self.fencedUpdate(
            lease,
            set: "lease_expires_at = \(expiresAt), updated_at = \(now.storedMilliseconds)"
        )
    }

    public func complete(_ lease: JobLease, result: String, now: Date) async throws -> JobWriteOutcome {
        let nowMs = now.storedMilliseconds
        return try await self.fencedUpdate(
            lease,
            set: """
                status = 'succeeded', result = \(ByteBuffer(string: result)), error = NULL, lease_owner = NULL,
                lease_expires_at = NULL, finished_at = \(nowMs), updated_at = \(nowMs)
                """
        )
    }

    /// A retry needs attempts left; otherwise the job fails for good. Decided in the statement itself, so the
    /// attempt count it reads is the one it changes.
    public func fail(_ lease: JobLease, error: String, retryAfter: Duration?, now: Date) async throws -> JobFailOutcome
    {
        let now = now.storedPrecision
        let nowMs = now.storedMilliseconds
        let retryAt = retryAfter.map { now.addingDuration($0).storedPrecision }
        let retryMs = retryAt?.storedMilliseconds
        let rows = try await self.database.query(
            """
            UPDATE jobs SET
                status = CASE WHEN \(retryMs)::BIGINT IS NOT NULL AND attempts < max_attempts
                    THEN 'queued' ELSE 'failed' END,
                available_at = CASE WHEN \(retryMs)::BIGINT IS NOT NULL AND attempts < max_attempts
                    THEN \(retryMs)::BIGINT ELSE available_at END,
                finished_at = CASE WHEN \(retryMs)::BIGINT IS NOT NULL AND attempts < max_attempts
                    THEN NULL ELSE \(nowMs) END,
                error = \(error), lease_owner = NULL, lease_expires_at = NULL, updated_at = \(nowMs)
            WHERE id = \(lease.jobID) AND status = 'running' AND fence = \(lease.fence)
            RETURNING status
            """,
            logger: self.logger
        )
        for try await status in rows.decode(String.self) {
            return status == Job.Status.queued.rawValue ? .retrying(at: retryAt ?? now) : .failed
        }
        return .fenced
    }

    public func release(
        _ lease: JobLease,
        retryAfter: Duration?,
        error: String?,
        now: Date
    ) async throws -> JobWriteOutcome {
        let now = now.storedPrecision
        let availableAt = retryAfter.map { now.addingDuration($0).storedMilliseconds }
        return try await self.fencedUpdate(
            lease,
            notifying: (retryAfter ?? .zero) <= .zero,
            set: """
                status = 'queued', attempts = GREATEST(attempts - 1, 0), lease_owner = NULL,
                lease_expires_at = NULL, available_at = COALESCE(\(availableAt)::BIGINT, available_at),
                error = COALESCE(\(error)::TEXT, error), updated_at = \(now.storedMilliseconds)
                """
        )
    }

    public func reclaimExpired(now: Date) async throws -> Int {
        let nowMs = now.storedMilliseconds
        let rows = try await self.database.query(
            """
            WITH failed AS (
                UPDATE jobs SET status = 'failed', error = \(Job.leaseExpiredMessage), lease_owner = NULL,
                    lease_expires_at = NULL, finished_at = \(nowMs), updated_at = \(nowMs)
                WHERE status = 'running' AND lease_expires_at <= \(nowMs) AND attempts >= max_attempts
                RETURNING id
            ), requeued AS (
                UPDATE jobs SET status = 'queued', lease_owner = NULL, lease_expires_at = NULL,
                    updated_at = \(nowMs)
                WHERE status = 'running' AND lease_expires_at <= \(nowMs) AND attempts < max_attempts
                RETURNING id
            )
            SELECT (SELECT COUNT(*) FROM failed) + (SELECT COUNT(*) FROM requeued)
            """,
            logger: self.logger
        )
        return try await Self.single(Int.self, rows) ?? 0
    }

    public func stats(now: Date) async throws -> JobQueueStats {
        let nowMs = now.storedMilliseconds
        let rows = try await self.database.query(
            """
            SELECT
                COUNT(*) FILTER (WHERE status = 'queued'),
                MIN(available_at) FILTER (WHERE status = 'queued' AND available_at <= \(nowMs)),
                COUNT(*) FILTER (WHERE status = 'running'),
                COUNT(*) FILTER (WHERE status = 'running' AND lease_expires_at <= \(nowMs))
            FROM jobs WHERE status IN ('queued', 'running')
            """,
            logger: self.logger
        )
        for try await (depth, oldest, running, expired) in rows.decode((Int, Int64?, Int, Int).self) {
            return JobQueueStats(
                depth: depth,
                oldestQueuedAgeSeconds: oldest.map { Double(nowMs - $0) / 1000 },
                inFlight: running - expired,
                expiredLeases: expired
            )
        }
        return JobQueueStats(depth: 0, oldestQueuedAgeSeconds: nil, inFlight: 0, expiredLeases: 0)
    }

    /// Deletes in batches of `deleteBatchSize`, one short statement each, so that claims and completions
    /// interleave with a large sweep instead of waiting for it.
    public func deleteFinished(before cutoff: Date) async throws -> Int {
        let cutoffMs = cutoff.storedMilliseconds
        var total = 0
        while true {
            let rows = try await self.database.query(
                """
                WITH deleted AS (
                    DELETE FROM jobs WHERE id IN (
                        SELECT id FROM jobs
                        WHERE status IN ('succeeded', 'failed') AND finished_at < \(cutoffMs)
                        LIMIT \(Self.deleteBatchSize)
                    )
                    RETURNING 1
                )
                SELECT COUNT(*) FROM deleted
                """,
                logger: self.logger
            )
            let deleted = try await Self.single(Int.self, rows) ?? 0
            total += deleted
            if deleted < Self.deleteBatchSize { return total }
        }
    }

    static let deleteBatchSize = 1000

    public func notReadyReasons() async -> [String] {
        guard self.database.isMigrated else { return ["job store (PostgreSQL) is not migrated yet"] }
        do {
            try await self.database.query("SELECT 1", logger: self.logger)
            return []
        } catch {
            return ["job store (PostgreSQL) is not reachable"]
        }
    }

    /// `UPDATE jobs SET <set> WHERE` the lease is still current: the one place fencing is enforced.
    /// - Parameter notifying: the update makes the job claimable now: other replicas are told when it applies.
    private func fencedUpdate(
        _ lease: JobLease,
        notifying: Bool = false,
        set: PostgresQuery
    ) async throws -> JobWriteOutcome {
        var query = set
        query.sql = "UPDATE jobs SET " + query.sql
        query.binds.append(lease.jobID)
        let idIndex = query.binds.count
        query.binds.append(lease.fence)
        query.sql += " WHERE id = $\(idIndex) AND status = 'running' AND fence = $\(query.binds.count) RETURNING 1"
        if notifying {
            query.binds.append(PostgresJobNotifier.channel)
            query.binds.append(self.origin)
            let count = query.binds.count
            query.sql = "WITH updated AS (\(query.sql)) SELECT pg_notify($\(count - 1), $\(count)) FROM updated"
        }
        let rows = try await self.database.query(query, logger: self.logger)
        for try await _ in rows { return .applied }
        return .fenced
    }

    private static func single<Value: PostgresDecodable & Sendable>(
        _ type: Value.Type,
        _ rows: PostgresRowSequence
    ) async throws -> Value? {
        for try await value in rows.decode(Value.self) { return value }
        return nil
    }
}

extension Job {
    /// A row selected as `PostgresJobStore.columns`.
    init(postgresRow row: PostgresRow) throws {
        let (
            id, worker, input, status, attempts, maxAttempts, fence, result, error, availableAt, leaseOwner,
            leaseExpiresAt, startedAt, finishedAt, createdAt, updatedAt
        ) = try row.decode(
            (
                String, String, ByteBuffer, String, Int, Int, Int, ByteBuffer?, String?, Int64, String?, Int64?,
                Int64?, Int64?, Int64, Int64
            ).self
        )
        self.init(
            id: id,
            worker: worker,
            input: String(buffer: input),
            status: Status(rawValue: status) ?? .failed,
            attempts: attempts,
            maxAttempts: maxAttempts,
            fence: fence,
            result: result.map { String(buffer: $0) },
            error: error,
            availableAt: Date(storedMilliseconds: availableAt),
            leaseOwner: leaseOwner,
            leaseExpiresAt: leaseExpiresAt.map(Date.init(storedMilliseconds:)),
            startedAt: startedAt.map(Date.init(storedMilliseconds:)),
            finishedAt: finishedAt.map(Date.init(storedMilliseconds:)),
            createdAt: Date(storedMilliseconds: createdAt),
            updatedAt: Date(storedMilliseconds: updatedAt)
        )
    }
}
