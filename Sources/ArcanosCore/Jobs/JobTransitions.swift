import Foundation

/// The state changes of a job, as pure functions: the in-memory store applies them directly and the SQL
/// stores implement the same rules in their statements (the contract suite checks they agree).
extension Job {
    /// Whether `claim` may hand this job out at `now`.
    public func isClaimable(now: Date) -> Bool {
        switch self.status {
        case .queued: self.availableAt <= now
        case .running: self.leaseExpiresAt.map { $0 <= now } ?? true
        case .succeeded, .failed: false
        }
    }

    /// A running job whose lease expired on its last attempt: it fails instead of being claimed again.
    public func isExhaustedOrphan(now: Date) -> Bool {
        self.status == .running && (self.leaseExpiresAt.map { $0 <= now } ?? true) && self.attempts >= self.maxAttempts
    }

    public static let leaseExpiredMessage = "the worker stopped responding on the last attempt"

    /// This job failed because its last lease expired.
    public func exhausted(now: Date) -> Job {
        var job = self
        job.status = .failed
        job.error = Self.leaseExpiredMessage
        job.leaseOwner = nil
        job.leaseExpiresAt = nil
        job.finishedAt = now
        job.updatedAt = now
        return job
    }

    /// This job claimed by `owner` until `now + leaseDuration`.
    public func claimed(by owner: String, leaseDuration: Duration, now: Date) -> JobLease {
        var job = self
        job.status = .running
        job.attempts += 1
        job.fence += 1
        job.leaseOwner = owner
        job.leaseExpiresAt = now.addingDuration(leaseDuration)
        job.startedAt = now
        job.updatedAt = now
        return JobLease(job: job, owner: owner, fence: job.fence, expiresAt: job.leaseExpiresAt!)
    }

    /// Whether a write made with `lease` may still be applied to this job.
    public func accepts(_ lease: JobLease) -> Bool {
        self.status == .running && self.fence == lease.fence
    }

    public func heartbeat(leaseDuration: Duration, now: Date) -> Job {
        var job = self
        job.leaseExpiresAt = now.addingDuration(leaseDuration)
        job.updatedAt = now
        return job
    }

    public func completed(result: String, now: Date) -> Job {
        var job = self
        job.status = .succeeded
        job.result = result
        job.error = nil
        job.leaseOwner = nil
        job.leaseExpiresAt = nil
        job.finishedAt = now
        job.updatedAt = now
        return job
    }

    /// After a failed attempt: queued again at `now + retryAfter` while attempts remain, failed otherwise.
    public func failed(error: String, retryAfter: Duration?, now: Date) -> (Job, JobFailOutcome) {
        var job = self
        job.error = error
        job.leaseOwner = nil
        job.leaseExpiresAt = nil
        job.updatedAt = now
        if let retryAfter, job.attempts < job.maxAttempts {
            job.status = .queued
            job.availableAt = now.addingDuration(retryAfter)
            return (job, .retrying(at: job.availableAt))
        }
        job.status = .failed
        job.finishedAt = now
        return (job, .failed)
    }

    /// Handed back without charging the attempt; held back until `now + retryAfter` when given.
    public func released(retryAfter: Duration? = nil, error: String? = nil, now: Date) -> Job {
        var job = self
        job.status = .queued
        job.attempts = max(0, job.attempts - 1)
        job.leaseOwner = nil
        job.leaseExpiresAt = nil
        // Without a delay `availableAt` stays in the past: the job goes back ahead of work queued after it.
        if let retryAfter { job.availableAt = now.addingDuration(retryAfter) }
        if let error { job.error = error }
        job.updatedAt = now
        return job
    }

    /// An orphan put back in the queue by `reclaimExpired`; the lost attempt stays charged.
    public func reclaimed(now: Date) -> Job {
        var job = self
        job.status = .queued
        job.leaseOwner = nil
        job.leaseExpiresAt = nil
        job.updatedAt = now
        return job
    }
}
