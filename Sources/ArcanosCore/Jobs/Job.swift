import Foundation

/// A unit of work in the durable queue: what to run (`worker`, `input`), where it stands, and the lease
/// bookkeeping that lets a crashed or cut-off attempt be taken over without running twice to completion.
public struct Job: Sendable, Hashable, Codable {
    public enum Status: String, Sendable, Hashable, Codable, CaseIterable {
        case queued, running, succeeded, failed

        /// Succeeded and failed jobs never change again.
        public var isFinal: Bool { self == .succeeded || self == .failed }
    }

    public var id: String
    /// The worker that runs it: a pool alias (`arcanos`) or an inventory module id.
    public var worker: String
    public var input: String
    public var status: Status
    /// Attempts charged against `maxAttempts`: every claim, minus hand-backs (a pool restart is not the job's fault).
    public var attempts: Int
    public var maxAttempts: Int
    /// The fencing token: incremented by every claim and never decremented, so a lease taken before the
    /// latest claim can no longer write.
    public var fence: Int
    public var result: String?
    /// A short, safe message: never provider text or a command's stderr.
    public var error: String?
    /// The job may not be claimed before this (retry backoff).
    public var availableAt: Date
    public var leaseOwner: String?
    public var leaseExpiresAt: Date?
    /// When the latest attempt started.
    public var startedAt: Date?
    public var finishedAt: Date?
    public var createdAt: Date
    public var updatedAt: Date

    public init(
        id: String,
        worker: String,
        input: String,
        status: Status = .queued,
        attempts: Int = 0,
        maxAttempts: Int,
        fence: Int = 0,
        result: String? = nil,
        error: String? = nil,
        availableAt: Date,
        leaseOwner: String? = nil,
        leaseExpiresAt: Date? = nil,
        startedAt: Date? = nil,
        finishedAt: Date? = nil,
        createdAt: Date,
        updatedAt: Date
    ) {
        self.id = id
        self.worker = worker
        self.input = input
        self.status = status
        self.attempts = attempts
        self.maxAttempts = maxAttempts
        self.fence = fence
        self.result = result
        self.error = error
        self.availableAt = availableAt
        self.leaseOwner = leaseOwner
        self.leaseExpiresAt = leaseExpiresAt
        self.startedAt = startedAt
        self.finishedAt = finishedAt
        self.createdAt = createdAt
        self.updatedAt = updatedAt
    }
}

/// What a client asks to run; the store assigns the rest.
public struct NewJob: Sendable, Hashable {
    public static let maximumInputLength = 100_000

    public var id: String
    public var worker: String
    public var input: String
    public var maxAttempts: Int

    public init(id: String = Job.makeID(), worker: String, input: String, maxAttempts: Int) {
        self.id = id
        self.worker = worker
        self.input = input
        self.maxAttempts = max(1, maxAttempts)
    }
}

extension Job {
    /// A random, URL-safe id.
    public static func makeID() -> String { UUID().uuidString.lowercased() }

    /// A queued job built from `new` at `now`; what every store writes on enqueue.
    public init(_ new: NewJob, now: Date) {
        self.init(
            id: new.id,
            worker: new.worker,
            input: new.input,
            maxAttempts: new.maxAttempts,
            availableAt: now,
            createdAt: now,
            updatedAt: now
        )
    }
}

/// The right to run one attempt of a job until `expiresAt` (renewed by heartbeats). Writes made with it are
/// applied only while `fence` is still the job's latest claim and the job is running.
public struct JobLease: Sendable, Hashable {
    /// The job as claimed: `status == .running`, `attempts` and `fence` already counted.
    public var job: Job
    public var owner: String
    public var fence: Int
    public var expiresAt: Date

    public init(job: Job, owner: String, fence: Int, expiresAt: Date) {
        self.job = job
        self.owner = owner
        self.fence = fence
        self.expiresAt = expiresAt
    }

    public var jobID: String { self.job.id }
    /// The attempt number this lease runs (1-based).
    public var attempt: Int { self.job.attempts }
}
