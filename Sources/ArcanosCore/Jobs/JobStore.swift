import Foundation

/// Durable storage of the job queue. Every implementation (SQLite, PostgreSQL, in memory) passes the same
/// contract suite (`JobStoreContract` in ArcanosTesting). Every method takes `now`, so leases, backoff and ages
/// are decided by the caller's clock and tests need no waiting.
public protocol JobStore: Sendable {
    /// Adds a queued job. Throws `invalidRequest` when the id already exists.
    func enqueue(_ job: NewJob, now: Date) async throws -> Job

    func job(id: String) async throws -> Job?

    /// Claims the next runnable job for `owner`, atomically: a queued job whose `availableAt` has come, or a
    /// running job whose lease expired (an orphan). Increments `attempts` and `fence`. A job whose lease
    /// expired on its last attempt is marked failed instead of being handed out. Each job goes to exactly one
    /// claimer at a time.
    func claim(owner: String, leaseDuration: Duration, now: Date) async throws -> JobLease?

    /// Extends the lease to `now + leaseDuration`. `.fenced` when the lease was lost: the job was released,
    /// failed, finished or claimed again since.
    func heartbeat(_ lease: JobLease, leaseDuration: Duration, now: Date) async throws -> JobWriteOutcome

    /// Records the result: the job succeeds. `.fenced` (and nothing written) when the lease was lost.
    func complete(_ lease: JobLease, result: String, now: Date) async throws -> JobWriteOutcome

    /// Records a failed attempt. With attempts left and a `retryAfter`, the job is queued again, claimable
    /// from `now + retryAfter`; otherwise it fails for good.
    func fail(_ lease: JobLease, error: String, retryAfter: Duration?, now: Date) async throws -> JobFailOutcome

    /// Hands a running job back to the queue without charging the attempt: claimable at once when
    /// `retryAfter` is nil (a pool restart or shutdown, not the job's fault), otherwise from `now + retryAfter`
    /// (the model is unavailable: the job waits for it). A non-nil `error` says why it waits.
    func release(_ lease: JobLease, retryAfter: Duration?, error: String?, now: Date) async throws -> JobWriteOutcome

    /// Returns every running job whose lease expired to the queue (or fails it when that was its last
    /// attempt); `claim` picks orphans up on its own, this makes them visible to `stats` sooner.
    func reclaimExpired(now: Date) async throws -> Int

    func stats(now: Date) async throws -> JobQueueStats

    /// Deletes finished jobs (succeeded or failed) that finished before `cutoff`, and returns how many.
    /// Queued and running jobs are never deleted, whatever their age.
    func deleteFinished(before cutoff: Date) async throws -> Int

    /// `complete` then `claim` for the same worker, in one round trip where the store can: a busy worker's
    /// way to the next job. The claim happens whether or not the completion was fenced.
    func completeAndClaim(
        _ lease: JobLease,
        result: String,
        owner: String,
        leaseDuration: Duration,
        now: Date
    ) async throws -> (JobWriteOutcome, JobLease?)
}

extension JobStore {
    /// Hands a running job back, claimable at once, without charging the attempt.
    public func release(_ lease: JobLease, now: Date) async throws -> JobWriteOutcome {
        try await self.release(lease, retryAfter: nil, error: nil, now: now)
    }

    public func completeAndClaim(
        _ lease: JobLease,
        result: String,
        owner: String,
        leaseDuration: Duration,
        now: Date
    ) async throws -> (JobWriteOutcome, JobLease?) {
        let outcome = try await self.complete(lease, result: result, now: now)
        return (outcome, try await self.claim(owner: owner, leaseDuration: leaseDuration, now: now))
    }
}

/// Whether a write made with a lease was applied.
public enum JobWriteOutcome: Sendable, Hashable {
    case applied
    /// The lease was lost; nothing was written.
    case fenced
}

public enum JobFailOutcome: Sendable, Hashable {
    /// Queued again, claimable from `at`.
    case retrying(at: Date)
    /// No attempts left (or not retryable): the job failed.
    case failed
    /// The lease was lost; nothing was written.
    case fenced
}

/// The queue at a glance, for `/workers/status` and the auto-heal signal.
public struct JobQueueStats: Sendable, Hashable, Codable {
    /// Queued jobs, including those waiting out a retry backoff.
    public var depth: Int
    /// How long the oldest claimable job has waited, in seconds; nil when none is waiting.
    public var oldestQueuedAgeSeconds: Double?
    /// Running jobs whose lease is current.
    public var inFlight: Int
    /// Running jobs whose lease expired and that no one has reclaimed yet.
    public var expiredLeases: Int

    public init(depth: Int, oldestQueuedAgeSeconds: Double?, inFlight: Int, expiredLeases: Int) {
        self.depth = depth
        self.oldestQueuedAgeSeconds = oldestQueuedAgeSeconds
        self.inFlight = inFlight
        self.expiredLeases = expiredLeases
    }
}

extension Date {
    /// `self + duration`, for lease expiry and backoff arithmetic on wall-clock dates.
    public func addingDuration(_ duration: Duration) -> Date {
        self.addingTimeInterval(duration.seconds)
    }

    /// Milliseconds since 1970, rounded: how the stores write dates (exact, sortable, a PostgreSQL `bigint`),
    /// and what they compare them with.
    public var storedMilliseconds: Int64 { Int64((self.timeIntervalSince1970 * 1000).rounded()) }

    /// This date as a store will read it back.
    public var storedPrecision: Date { Date(storedMilliseconds: self.storedMilliseconds) }

    public init(storedMilliseconds: Int64) {
        self.init(timeIntervalSince1970: Double(storedMilliseconds) / 1000)
    }
}
