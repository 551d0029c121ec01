import ArcanosCore
import Foundation
import Synchronization

/// A `JobStore` in a dictionary, applying the rules of `JobTransitions.swift` directly: the reference the SQL
/// stores are checked against, and a fast store for tests that are not about persistence.
public final class InMemoryJobStore: JobStore {
    private let jobs = Mutex<[String: Job]>([:])

    public init() {}

    public func enqueue(_ new: NewJob, now: Date) async throws -> Job {
        try self.jobs.withLock { jobs in
            guard jobs[new.id] == nil else { throw ArcanosError.invalidRequest("a job with this id already exists") }
            let job = Job(new, now: now)
            jobs[job.id] = job
            return job
        }
    }

    public func job(id: String) async throws -> Job? {
        self.jobs.withLock { $0[id] }
    }

    public func claim(owner: String, leaseDuration: Duration, now: Date) async throws -> JobLease? {
        self.jobs.withLock { jobs in
            for (id, job) in jobs where job.isExhaustedOrphan(now: now) {
                jobs[id] = job.exhausted(now: now)
            }
            // Orphans first (their work started earliest), then queued jobs in the order they became available.
            let next =
                jobs.values.filter { $0.status == .running && $0.isClaimable(now: now) }
                .min { ($0.leaseExpiresAt ?? now, $0.id) < ($1.leaseExpiresAt ?? now, $1.id) }
                ?? jobs.values.filter { $0.status == .queued && $0.isClaimable(now: now) }
                .min { ($0.availableAt, $0.createdAt, $0.id) < ($1.availableAt, $1.createdAt, $1.id) }
            guard let next else { return nil }
            let lease = next.claimed(by: owner, leaseDuration: leaseDuration, now: now)
            jobs[next.id] = lease.job
            return lease
        }
    }

    public func heartbeat(_ lease: JobLease, leaseDuration: Duration, now: Date) async throws -> JobWriteOutcome {
        self.apply(lease) { $0.heartbeat(leaseDuration: leaseDuration, now: now) }
    }

    public func complete(_ lease: JobLease, result: String, now: Date) async throws -> JobWriteOutcome {
        self.apply(lease) { $0.completed(result: result, now: now) }
    }

    public func fail(_ lease: JobLease, error: String, retryAfter: Duration?, now: Date) async throws -> JobFailOutcome
    {
        self.jobs.withLock { jobs in
            guard let job = jobs[lease.jobID], job.accepts(lease) else { return .fenced }
            let (failed, outcome) = job.failed(error: error, retryAfter: retryAfter, now: now)
            jobs[job.id] = failed
            return outcome
        }
    }

    public func release(
        _ lease: JobLease,
        retryAfter: Duration?,
        error: String?,
        now: Date
    ) async throws -> JobWriteOutcome {
        self.apply(lease) { $0.released(retryAfter: retryAfter, error: error, now: now) }
    }

    public func reclaimExpired(now: Date) async throws -> Int {
        self.jobs.withLock { jobs in
            var count = 0
            for (id, job) in jobs where job.status == .running && job.isClaimable(now: now) {
                jobs[id] = job.isExhaustedOrphan(now: now) ? job.exhausted(now: now) : job.reclaimed(now: now)
                count += 1
            }
            return count
        }
    }

    public func stats(now: Date) async throws -> JobQueueStats {
        self.jobs.withLock { jobs in
            let queued = jobs.values.filter { $0.status == .queued }
            let running = jobs.values.filter { $0.status == .running }
            let oldest = queued.filter { $0.availableAt <= now }.map(\.availableAt).min()
            let expired = running.filter { $0.isClaimable(now: now) }.count
            return JobQueueStats(
                depth: queued.count,
                oldestQueuedAgeSeconds: oldest.map { now.timeIntervalSince($0) },
                inFlight: running.count - expired,
                expiredLeases: expired
            )
        }
    }

    public func deleteFinished(before cutoff: Date) async throws -> Int {
        self.jobs.withLock { jobs in
            let old = jobs.values.filter { job in
                (job.status == .succeeded || job.status == .failed) && (job.finishedAt ?? cutoff) < cutoff
            }
            for job in old { jobs[job.id] = nil }
            return old.count
        }
    }

    /// Every job, for assertions.
    public var allJobs: [Job] { self.jobs.withLock { Array($0.values) } }

    private func apply(_ lease: JobLease, _ change: (Job) -> Job) -> JobWriteOutcome {
        self.jobs.withLock { jobs in
            guard let job = jobs[lease.jobID], job.accepts(lease) else { return .fenced }
            jobs[job.id] = change(job)
            return .applied
        }
    }
}
