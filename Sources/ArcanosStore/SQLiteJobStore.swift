import ArcanosCore
import Foundation
import GRDB

/// The job queue in SQLite through GRDB: a WAL `DatabasePool` (readers never block the writer), every state
/// change in one write transaction, the lease rules of `JobTransitions.swift` written as guarded `UPDATE`s.
public final class SQLiteJobStore: JobStore, ReadinessReporting {
    /// `arcanos.sqlite`, the store's file in `ARCANOS_DATA_DIR`.
    public static let fileName = "arcanos.sqlite"

    /// The database, shared with the heal audit (`SQLiteHealAuditLog(sharingDatabaseOf:)`).
    let writer: any DatabaseWriter
    /// Every state change goes through it: one transaction per batch of concurrent changes.
    private let combiner: WriteCombiner

    /// Opens (creating if needed) the database at `path` and migrates it.
    public convenience init(path: String) throws {
        try self.init(writer: DatabasePool.arcanos(path: path))
    }

    /// Uses `writer` (a pool, or an in-memory `DatabaseQueue` in tests) after migrating it.
    public init(writer: any DatabaseWriter) throws {
        self.writer = writer
        self.combiner = WriteCombiner(writer: writer)
        try Self.migrator.migrate(writer)
    }

    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1-jobs") { db in
            try db.execute(
                sql: """
                    CREATE TABLE jobs (
                        id TEXT PRIMARY KEY NOT NULL,
                        worker TEXT NOT NULL,
                        input TEXT NOT NULL,
                        status TEXT NOT NULL CHECK (status IN ('queued', 'running', 'succeeded', 'failed')),
                        attempts INTEGER NOT NULL DEFAULT 0,
                        max_attempts INTEGER NOT NULL,
                        fence INTEGER NOT NULL DEFAULT 0,
                        result TEXT,
                        error TEXT,
                        available_at INTEGER NOT NULL,
                        lease_owner TEXT,
                        lease_expires_at INTEGER,
                        started_at INTEGER,
                        finished_at INTEGER,
                        created_at INTEGER NOT NULL,
                        updated_at INTEGER NOT NULL
                    );
                    -- Partial indexes: only live jobs are indexed, so finished history does not slow claims.
                    CREATE INDEX jobs_ready ON jobs (available_at, created_at, id) WHERE status = 'queued';
                    CREATE INDEX jobs_leased ON jobs (lease_expires_at, id) WHERE status = 'running';
                    """
            )
        }
        migrator.registerMigration("v2-jobs-finished-index") { db in
            // For the retention sweep: finished jobs by age, without scanning the live ones.
            try db.execute(
                sql: "CREATE INDEX jobs_finished ON jobs (finished_at) WHERE status IN ('succeeded', 'failed')"
            )
        }
        return migrator
    }

    public func enqueue(_ new: NewJob, now: Date) async throws -> Job {
        let job = Job(new, now: now.storedPrecision)
        do {
            try await self.combiner.write { db in try job.insert(db) }
        } catch let error as DatabaseError where error.extendedResultCode == .SQLITE_CONSTRAINT_PRIMARYKEY {
            throw ArcanosError.invalidRequest("a job with this id already exists")
        }
        return job
    }

    public func job(id: String) async throws -> Job? {
        try await self.writer.read { db in try Job.fetchOne(db, key: id) }
    }

    public func claim(owner: String, leaseDuration: Duration, now: Date) async throws -> JobLease? {
        let now = now.storedPrecision
        let expiresAt = now.addingDuration(leaseDuration).storedPrecision
        let job = try await self.combiner.write { db in
            try Self.claimNext(db, owner: owner, now: now, expiresAt: expiresAt)
        }
        return job.map { JobLease(job: $0, owner: owner, fence: $0.fence, expiresAt: expiresAt) }
    }

    public func completeAndClaim(
        _ lease: JobLease,
        result: String,
        owner: String,
        leaseDuration: Duration,
        now: Date
    ) async throws -> (JobWriteOutcome, JobLease?) {
        let now = now.storedPrecision
        let nowMs = now.storedMilliseconds
        let expiresAt = now.addingDuration(leaseDuration).storedPrecision
        let (changed, job) = try await self.combiner.write { db in
            try db.cachedStatement(sql: Self.completeFenced)
                .execute(arguments: [result.exactDatabaseValue, nowMs, nowMs, lease.jobID, lease.fence])
            let changed = db.changesCount
            return (changed, try Self.claimNext(db, owner: owner, now: now, expiresAt: expiresAt))
        }
        return (
            changed == 1 ? .applied : .fenced,
            job.map { JobLease(job: $0, owner: owner, fence: $0.fence, expiresAt: expiresAt) }
        )
    }

    /// The claim rules, inside a write: orphans first (their work started earliest), one on its last attempt
    /// failing instead; then the queued job that became available first.
    private static func claimNext(_ db: Database, owner: String, now: Date, expiresAt: Date) throws -> Job? {
        let nowMs = now.storedMilliseconds
        let claimArguments: StatementArguments = [owner, expiresAt.storedMilliseconds, nowMs, nowMs]
        while let orphan = try Row.fetchOne(db.cachedStatement(sql: Self.nextOrphan), arguments: [nowMs]) {
            let id: String = orphan["id"]
            guard orphan["exhausted"] as Bool else {
                return try Job.fetchOne(db.cachedStatement(sql: Self.claimOrphan), arguments: claimArguments + [id])
            }
            try db.cachedStatement(sql: Self.failExhaustedOrphan)
                .execute(arguments: [Job.leaseExpiredMessage, nowMs, nowMs, id])
        }
        return try Job.fetchOne(db.cachedStatement(sql: Self.claimQueued), arguments: claimArguments + [nowMs])
    }

    /// A completion: the result, the lease dropped, finished now (arguments: result, now, now).
    private static let completeSet = """
        status = 'succeeded', result = ?, error = NULL, lease_owner = NULL, lease_expires_at = NULL,
            finished_at = ?, updated_at = ?
        """
    private static let completeFenced = fencedUpdateSQL(set: completeSet)

    private static let claimSet = """
        UPDATE jobs SET status = 'running', attempts = attempts + 1, fence = fence + 1,
            lease_owner = ?, lease_expires_at = ?, started_at = ?, updated_at = ?
        """
    private static let claimOrphan = SQLiteJobStore.claimSet + " WHERE id = ? RETURNING *"
    private static let claimQueued =
        SQLiteJobStore.claimSet + """
             WHERE id = (
                SELECT id FROM jobs WHERE status = 'queued' AND available_at <= ?
                ORDER BY available_at, created_at, id LIMIT 1
            ) RETURNING *
            """
    private static let nextOrphan = """
        SELECT id, attempts >= max_attempts AS exhausted FROM jobs
        WHERE status = 'running' AND lease_expires_at <= ?
        ORDER BY lease_expires_at, id LIMIT 1
        """
    private static let failExhaustedOrphan = """
        UPDATE jobs SET status = 'failed', error = ?, lease_owner = NULL, lease_expires_at = NULL,
            finished_at = ?, updated_at = ?
        WHERE id = ?
        """

    public func heartbeat(_ lease: JobLease, leaseDuration: Duration, now: Date) async throws -> JobWriteOutcome {
        let now = now.storedPrecision
        return try await self.fencedUpdate(
            lease,
            set: "lease_expires_at = ?, updated_at = ?",
            arguments: [now.addingDuration(leaseDuration).storedMilliseconds, now.storedMilliseconds]
        )
    }

    public func complete(_ lease: JobLease, result: String, now: Date) async throws -> JobWriteOutcome {
        let nowMs = now.storedMilliseconds
        return try await self.fencedUpdate(
            lease,
            set: Self.completeSet,
            arguments: [result.exactDatabaseValue, nowMs, nowMs]
        )
    }

    public func fail(_ lease: JobLease, error: String, retryAfter: Duration?, now: Date) async throws -> JobFailOutcome
    {
        let now = now.storedPrecision
        let nowMs = now.storedMilliseconds
        let retryAt = retryAfter.map { now.addingDuration($0).storedPrecision }
        let status: String? = try await self.combiner.write { db in
            // A retry needs attempts left; otherwise the job fails for good. Decided in the statement itself,
            // so the attempt count it reads is the one it changes.
            try String.fetchOne(
                db.cachedStatement(
                    sql: """
                        UPDATE jobs SET
                            status = CASE WHEN ? IS NOT NULL AND attempts < max_attempts THEN 'queued' ELSE 'failed' END,
                            available_at = CASE WHEN ? IS NOT NULL AND attempts < max_attempts THEN ? ELSE available_at END,
                            finished_at = CASE WHEN ? IS NOT NULL AND attempts < max_attempts THEN NULL ELSE ? END,
                            error = ?, lease_owner = NULL, lease_expires_at = NULL, updated_at = ?
                        WHERE id = ? AND status = 'running' AND fence = ?
                        RETURNING status
                        """
                ),
                arguments: [
                    retryAt?.storedMilliseconds, retryAt?.storedMilliseconds, retryAt?.storedMilliseconds,
                    retryAt?.storedMilliseconds, nowMs, error, nowMs, lease.jobID, lease.fence,
                ]
            )
        }
        switch status {
        case nil: return .fenced
        case "queued": return .retrying(at: retryAt ?? now)
        default: return .failed
        }
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
            set: """
                status = 'queued', attempts = MAX(attempts - 1, 0), lease_owner = NULL, lease_expires_at = NULL,
                available_at = COALESCE(?, available_at), error = COALESCE(?, error), updated_at = ?
                """,
            arguments: [availableAt, error, now.storedMilliseconds]
        )
    }

    public func reclaimExpired(now: Date) async throws -> Int {
        let nowMs = now.storedMilliseconds
        return try await self.combiner.write { db in
            try db.execute(
                sql: """
                    UPDATE jobs SET status = 'failed', error = ?, lease_owner = NULL, lease_expires_at = NULL,
                        finished_at = ?, updated_at = ?
                    WHERE status = 'running' AND lease_expires_at <= ? AND attempts >= max_attempts
                    """,
                arguments: [Job.leaseExpiredMessage, nowMs, nowMs, nowMs]
            )
            let failed = db.changesCount
            try db.execute(
                sql: """
                    UPDATE jobs SET status = 'queued', lease_owner = NULL, lease_expires_at = NULL, updated_at = ?
                    WHERE status = 'running' AND lease_expires_at <= ?
                    """,
                arguments: [nowMs, nowMs]
            )
            return failed + db.changesCount
        }
    }

    public func stats(now: Date) async throws -> JobQueueStats {
        let nowMs = now.storedMilliseconds
        return try await self.writer.read { db in
            let depth = try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM jobs WHERE status = 'queued'") ?? 0
            let oldest = try Int64.fetchOne(
                db,
                sql: "SELECT MIN(available_at) FROM jobs WHERE status = 'queued' AND available_at <= ?",
                arguments: [nowMs]
            )
            let running = try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM jobs WHERE status = 'running'") ?? 0
            let expired =
                try Int.fetchOne(
                    db,
                    sql: "SELECT COUNT(*) FROM jobs WHERE status = 'running' AND lease_expires_at <= ?",
                    arguments: [nowMs]
                ) ?? 0
            return JobQueueStats(
                depth: depth,
                oldestQueuedAgeSeconds: oldest.map { Double(nowMs - $0) / 1000 },
                inFlight: running - expired,
                expiredLeases: expired
            )
        }
    }

    /// Deletes in batches of `deleteBatchSize`, one short write each, so that claims and completions
    /// interleave with a large sweep instead of waiting for it.
    public func deleteFinished(before cutoff: Date) async throws -> Int {
        let cutoffMs = cutoff.storedMilliseconds
        var total = 0
        while true {
            let deleted = try await self.combiner.write { db in
                try db.execute(
                    sql: """
                        DELETE FROM jobs WHERE id IN (
                            SELECT id FROM jobs
                            WHERE status IN ('succeeded', 'failed') AND finished_at < ?
                            LIMIT ?
                        )
                        """,
                    arguments: [cutoffMs, Self.deleteBatchSize]
                )
                return db.changesCount
            }
            total += deleted
            if deleted < Self.deleteBatchSize { return total }
        }
    }

    static let deleteBatchSize = 1000

    public func notReadyReasons() async -> [String] {
        do {
            _ = try await self.writer.read { db in try Int.fetchOne(db, sql: "SELECT 1") }
            return []
        } catch {
            return ["job store is not reachable"]
        }
    }

    /// `UPDATE jobs SET <set> WHERE` the lease is still current: the one place fencing is enforced.
    /// An update that applies only while the lease holds: the job still runs under the same fence.
    private static func fencedUpdateSQL(set: String) -> String {
        "UPDATE jobs SET \(set) WHERE id = ? AND status = 'running' AND fence = ?"
    }

    private func fencedUpdate(
        _ lease: JobLease,
        set: String,
        arguments: StatementArguments
    ) async throws
        -> JobWriteOutcome
    {
        let changed = try await self.combiner.write { db in
            try db.cachedStatement(sql: Self.fencedUpdateSQL(set: set))
                .execute(arguments: arguments + [lease.jobID, lease.fence])
            return db.changesCount
        }
        return changed == 1 ? .applied : .fenced
    }
}
