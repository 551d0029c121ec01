import ArcanosCore
import Foundation

/// A store whose heartbeats never return (a stuck database) until released; everything else goes to `base`.
/// A worker on it stops beating, as one stuck on its database would: the supervisor tests and
/// `arcanos bench hang` use it.
public final class StallingHeartbeatStore: JobStore {
    public let base: any JobStore
    private let released = OneShot<Void>()

    public init(_ base: any JobStore) {
        self.base = base
    }

    /// Lets every stalled heartbeat (and every later one) end, with a `CancellationError`.
    public func releaseStalls() { self.released.resolve(()) }

    public func heartbeat(_ lease: JobLease, leaseDuration: Duration, now: Date) async throws -> JobWriteOutcome {
        await self.released.value
        throw CancellationError()
    }

    public func enqueue(_ job: NewJob, now: Date) async throws -> Job { try await self.base.enqueue(job, now: now) }
    public func job(id: String) async throws -> Job? { try await self.base.job(id: id) }
    public func claim(owner: String, leaseDuration: Duration, now: Date) async throws -> JobLease? {
        try await self.base.claim(owner: owner, leaseDuration: leaseDuration, now: now)
    }
    public func complete(_ lease: JobLease, result: String, now: Date) async throws -> JobWriteOutcome {
        try await self.base.complete(lease, result: result, now: now)
    }
    public func fail(_ lease: JobLease, error: String, retryAfter: Duration?, now: Date) async throws -> JobFailOutcome
    {
        try await self.base.fail(lease, error: error, retryAfter: retryAfter, now: now)
    }
    public func release(
        _ lease: JobLease,
        retryAfter: Duration?,
        error: String?,
        now: Date
    ) async throws -> JobWriteOutcome {
        try await self.base.release(lease, retryAfter: retryAfter, error: error, now: now)
    }
    public func reclaimExpired(now: Date) async throws -> Int { try await self.base.reclaimExpired(now: now) }
    public func stats(now: Date) async throws -> JobQueueStats { try await self.base.stats(now: now) }
    public func completeAndClaim(
        _ lease: JobLease,
        result: String,
        owner: String,
        leaseDuration: Duration,
        now: Date
    ) async throws -> (JobWriteOutcome, JobLease?) {
        try await self.base.completeAndClaim(
            lease,
            result: result,
            owner: owner,
            leaseDuration: leaseDuration,
            now: now
        )
    }
    public func deleteFinished(before cutoff: Date) async throws -> Int {
        try await self.base.deleteFinished(before: cutoff)
    }
}
