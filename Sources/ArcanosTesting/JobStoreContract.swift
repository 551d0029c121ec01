import ArcanosCore
import Foundation

/// The behaviour every `JobStore` must have. A store's test suite runs each case against a fresh store:
///
/// ```swift
/// @Test(arguments: JobStoreContract.Case.allCases)
/// func sqliteStoreKeepsTheContract(_ check: JobStoreContract.Case) async throws {
///     try await JobStoreContract { try makeStore() }.run(check)
/// }
/// ```
public struct JobStoreContract: Sendable {
    public enum Case: String, Sendable, CaseIterable, CustomStringConvertible {
        case enqueueThenRead
        case claimHandsOutJobsInOrder
        case concurrentClaimersGetEachJobOnce
        case heartbeatExtendsTheLease
        case completeRecordsTheResultOnce
        case staleAttemptIsFenced
        case expiredLeaseIsReclaimed
        case failedAttemptsRetryWithBackoffThenFail
        case failWithoutRetryFailsAtOnce
        case releaseHandsBackWithoutChargingAnAttempt
        case orphanOnItsLastAttemptFails
        case statsReportDepthAgeAndInFlight
        case completeAndClaimHandsOverTheNextJob
        case completeAndClaimAfterTheLeaseRanOutCompletesAndClaimsAnother
        case deleteFinishedRemovesOnlyOldFinishedJobs
        case textKeepsNULAndControlCharacters
        case releaseWithADelayHoldsTheJobBackUncharged

        public var description: String { self.rawValue }
    }

    public let makeStore: @Sendable () async throws -> any JobStore

    public init(makeStore: @escaping @Sendable () async throws -> any JobStore) {
        self.makeStore = makeStore
    }

    /// A whole millisecond, so every store round-trips it exactly.
    static let t0 = Date(timeIntervalSince1970: 1_800_000_000)
    static let lease = Duration.seconds(10)

    public func run(_ check: Case) async throws {
        let store = try await self.makeStore()
        switch check {
        case .enqueueThenRead: try await Self.enqueueThenRead(store)
        case .claimHandsOutJobsInOrder: try await Self.claimHandsOutJobsInOrder(store)
        case .concurrentClaimersGetEachJobOnce: try await Self.concurrentClaimersGetEachJobOnce(store)
        case .heartbeatExtendsTheLease: try await Self.heartbeatExtendsTheLease(store)
        case .completeRecordsTheResultOnce: try await Self.completeRecordsTheResultOnce(store)
        case .staleAttemptIsFenced: try await Self.staleAttemptIsFenced(store)
        case .expiredLeaseIsReclaimed: try await Self.expiredLeaseIsReclaimed(store)
        case .failedAttemptsRetryWithBackoffThenFail: try await Self.failedAttemptsRetryWithBackoffThenFail(store)
        case .failWithoutRetryFailsAtOnce: try await Self.failWithoutRetryFailsAtOnce(store)
        case .releaseHandsBackWithoutChargingAnAttempt: try await Self.releaseHandsBackWithoutChargingAnAttempt(store)
        case .orphanOnItsLastAttemptFails: try await Self.orphanOnItsLastAttemptFails(store)
        case .statsReportDepthAgeAndInFlight: try await Self.statsReportDepthAgeAndInFlight(store)
        case .completeAndClaimHandsOverTheNextJob: try await Self.completeAndClaimHandsOverTheNextJob(store)
        case .completeAndClaimAfterTheLeaseRanOutCompletesAndClaimsAnother:
            try await Self.completeAndClaimAfterTheLeaseRanOut(store)
        case .deleteFinishedRemovesOnlyOldFinishedJobs: try await Self.deleteFinishedRemovesOnlyOldFinishedJobs(store)
        case .textKeepsNULAndControlCharacters: try await Self.textKeepsNULAndControlCharacters(store)
        case .releaseWithADelayHoldsTheJobBackUncharged:
            try await Self.releaseWithADelayHoldsTheJobBackUncharged(store)
        }
    }

    static func at(_ seconds: Double) -> Date { Self.t0.addingTimeInterval(seconds) }

    static func enqueue(
        _ store: any JobStore,
        _ id: String,
        maxAttempts: Int = 3,
        at seconds: Double = 0
    ) async throws
        -> Job
    {
        try await store.enqueue(
            NewJob(id: id, worker: "echo", input: "input of \(id)", maxAttempts: maxAttempts),
            now: Self.at(seconds)
        )
    }

    static func claim(_ store: any JobStore, _ owner: String = "w1", at seconds: Double) async throws -> JobLease? {
        try await store.claim(owner: owner, leaseDuration: Self.lease, now: Self.at(seconds))
    }

    static func requireJob(_ store: any JobStore, _ id: String) async throws -> Job {
        guard let job = try await store.job(id: id) else { throw ContractViolation("job \(id) disappeared") }
        return job
    }

    static func enqueueThenRead(_ store: any JobStore) async throws {
        let job = try await Self.enqueue(store, "a", maxAttempts: 2)
        try expect(
            job.status == .queued && job.attempts == 0 && job.maxAttempts == 2,
            "a new job is queued, unattempted"
        )
        try expect(job.worker == "echo" && job.input == "input of a", "the job keeps its worker and input")
        try expect(job.createdAt == Self.t0 && job.updatedAt == Self.t0, "timestamps are the enqueue time")
        let read = try await store.job(id: "a")
        try expect(read == job, "reading returns what enqueue returned, got \(String(describing: read))")
        try expect(try await store.job(id: "missing") == nil, "an unknown id reads as nil")
        do {
            _ = try await Self.enqueue(store, "a")
            throw ContractViolation("a duplicate id must be rejected")
        } catch let error as ArcanosError {
            try expect(error.code == .invalidRequest, "a duplicate id is an invalid request")
        }
    }

    static func claimHandsOutJobsInOrder(_ store: any JobStore) async throws {
        _ = try await Self.enqueue(store, "first", at: 0)
        _ = try await Self.enqueue(store, "second", at: 1)
        guard let lease = try await Self.claim(store, "w1", at: 2) else { throw ContractViolation("nothing claimed") }
        try expect(lease.jobID == "first", "the oldest job is claimed first, got \(lease.jobID)")
        try expect(
            lease.owner == "w1" && lease.fence == 1 && lease.attempt == 1,
            "the lease names its owner and attempt 1"
        )
        try expect(lease.expiresAt == Self.at(12), "the lease lasts the requested time")
        let running = try await Self.requireJob(store, "first")
        try expect(running.status == .running && running.attempts == 1, "a claimed job is running, attempt 1")
        try expect(running.leaseOwner == "w1" && running.startedAt == Self.at(2), "the store records owner and start")
        let second = try await Self.claim(store, "w2", at: 2)
        try expect(second?.jobID == "second", "the next claim gets the next job")
        try expect(try await Self.claim(store, "w3", at: 2) == nil, "nothing is left to claim")
    }

    static func concurrentClaimersGetEachJobOnce(_ store: any JobStore) async throws {
        let count = 60
        for index in 0..<count { _ = try await Self.enqueue(store, "job-\(index)", at: Double(index) / 1000) }
        let claimed = try await withThrowingTaskGroup(of: [String].self) { group in
            for claimer in 0..<6 {
                group.addTask {
                    var mine: [String] = []
                    while let lease = try await Self.claim(store, "w\(claimer)", at: 1) {
                        mine.append(lease.jobID)
                        await Task.yield()
                    }
                    return mine
                }
            }
            return try await group.reduce(into: []) { $0 += $1 }
        }
        try expect(claimed.count == count, "every job is claimed exactly once, got \(claimed.count) claims")
        try expect(Set(claimed).count == count, "no job went to two claimers")
    }

    static func heartbeatExtendsTheLease(_ store: any JobStore) async throws {
        _ = try await Self.enqueue(store, "a")
        guard let lease = try await Self.claim(store, at: 0) else { throw ContractViolation("nothing claimed") }
        try expect(
            try await store.heartbeat(lease, leaseDuration: Self.lease, now: Self.at(8)) == .applied,
            "a heartbeat on a live lease applies"
        )
        try expect(
            try await Self.requireJob(store, "a").leaseExpiresAt == Self.at(18),
            "the lease runs from the heartbeat"
        )
        try expect(try await Self.claim(store, "w2", at: 15) == nil, "a renewed lease is not an orphan")
        let taken = try await Self.claim(store, "w2", at: 18)
        try expect(taken?.jobID == "a" && taken?.attempt == 2, "once the renewed lease expires, the job is claimable")
    }

    static func completeRecordsTheResultOnce(_ store: any JobStore) async throws {
        _ = try await Self.enqueue(store, "a")
        guard let lease = try await Self.claim(store, at: 0) else { throw ContractViolation("nothing claimed") }
        try expect(try await store.complete(lease, result: "done", now: Self.at(1)) == .applied, "completing applies")
        let job = try await Self.requireJob(store, "a")
        try expect(
            job.status == .succeeded && job.result == "done" && job.error == nil,
            "the job succeeded with its result"
        )
        try expect(job.updatedAt == Self.at(1) && job.finishedAt == Self.at(1), "the job records when it finished")
        try expect(job.leaseOwner == nil && job.leaseExpiresAt == nil, "a finished job holds no lease")
        try expect(
            try await store.complete(lease, result: "again", now: Self.at(2)) == .fenced,
            "a second completion is fenced"
        )
        try expect(try await Self.requireJob(store, "a").result == "done", "the first result stays")
        try expect(try await Self.claim(store, at: 100) == nil, "a finished job is never claimed again")
    }

    static func staleAttemptIsFenced(_ store: any JobStore) async throws {
        _ = try await Self.enqueue(store, "a")
        guard let stale = try await Self.claim(store, "w1", at: 0) else { throw ContractViolation("nothing claimed") }
        guard let current = try await Self.claim(store, "w2", at: 11) else {
            throw ContractViolation("an expired lease must be claimable")
        }
        try expect(current.jobID == "a" && current.fence == 2 && current.attempt == 2, "the takeover is attempt 2")
        try expect(
            try await store.heartbeat(stale, leaseDuration: Self.lease, now: Self.at(12)) == .fenced,
            "a stale heartbeat is fenced"
        )
        try expect(
            try await store.complete(stale, result: "stale", now: Self.at(12)) == .fenced,
            "a stale completion is fenced"
        )
        try expect(
            try await store.fail(stale, error: "stale", retryAfter: .zero, now: Self.at(12)) == .fenced,
            "a stale failure is fenced"
        )
        try expect(try await store.release(stale, now: Self.at(12)) == .fenced, "a stale release is fenced")
        let unchanged = try await Self.requireJob(store, "a")
        try expect(unchanged.status == .running && unchanged.leaseOwner == "w2", "the stale attempt changed nothing")
        try expect(
            try await store.complete(current, result: "fresh", now: Self.at(13)) == .applied,
            "the current attempt writes"
        )
        try expect(try await Self.requireJob(store, "a").result == "fresh", "the current attempt's result is kept")
    }

    static func expiredLeaseIsReclaimed(_ store: any JobStore) async throws {
        _ = try await Self.enqueue(store, "a")
        guard let lease = try await Self.claim(store, at: 0) else { throw ContractViolation("nothing claimed") }
        try expect(try await store.reclaimExpired(now: Self.at(5)) == 0, "a live lease is not reclaimed")
        try expect(try await store.reclaimExpired(now: Self.at(10)) == 1, "an expired lease is reclaimed")
        let job = try await Self.requireJob(store, "a")
        try expect(
            job.status == .queued && job.attempts == 1 && job.leaseOwner == nil,
            "the orphan is queued, its attempt charged"
        )
        try expect(
            try await store.complete(lease, result: "late", now: Self.at(11)) == .fenced,
            "the lost attempt cannot write"
        )
        let again = try await Self.claim(store, "w2", at: 11)
        try expect(again?.attempt == 2 && again?.fence == 2, "the next claim is attempt 2")
    }

    static func failedAttemptsRetryWithBackoffThenFail(_ store: any JobStore) async throws {
        _ = try await Self.enqueue(store, "a", maxAttempts: 3)
        var now = 0.0
        for attempt in 1...3 {
            guard let lease = try await Self.claim(store, at: now) else {
                throw ContractViolation("attempt \(attempt) was not claimable at +\(now)s")
            }
            try expect(lease.attempt == attempt, "claim \(attempt) is attempt \(attempt), got \(lease.attempt)")
            let outcome = try await store.fail(
                lease,
                error: "boom \(attempt)",
                retryAfter: .seconds(2),
                now: Self.at(now + 1)
            )
            if attempt < 3 {
                try expect(
                    outcome == .retrying(at: Self.at(now + 3)),
                    "attempt \(attempt) retries after the backoff, got \(outcome)"
                )
                let waiting = try await Self.requireJob(store, "a")
                try expect(
                    waiting.status == .queued && waiting.error == "boom \(attempt)",
                    "a retrying job is queued with its error"
                )
                try expect(try await Self.claim(store, at: now + 2) == nil, "a job is not claimable during its backoff")
                now += 3
            } else {
                try expect(outcome == .failed, "the last attempt fails the job, got \(outcome)")
            }
        }
        let job = try await Self.requireJob(store, "a")
        try expect(
            job.status == .failed && job.attempts == 3 && job.error == "boom 3",
            "the job failed after 3 attempts"
        )
        try expect(try await Self.claim(store, at: now + 100) == nil, "a failed job is never claimed again")
    }

    static func failWithoutRetryFailsAtOnce(_ store: any JobStore) async throws {
        _ = try await Self.enqueue(store, "a", maxAttempts: 5)
        guard let lease = try await Self.claim(store, at: 0) else { throw ContractViolation("nothing claimed") }
        try expect(
            try await store.fail(lease, error: "bad input", retryAfter: nil, now: Self.at(1)) == .failed,
            "no retry: failed"
        )
        let job = try await Self.requireJob(store, "a")
        try expect(job.status == .failed && job.attempts == 1, "the job failed on its first attempt")
    }

    static func releaseHandsBackWithoutChargingAnAttempt(_ store: any JobStore) async throws {
        _ = try await Self.enqueue(store, "a", maxAttempts: 1)
        _ = try await Self.enqueue(store, "b", maxAttempts: 1, at: 1)
        guard let first = try await Self.claim(store, "w1", at: 2) else { throw ContractViolation("nothing claimed") }
        try expect(try await store.release(first, now: Self.at(3)) == .applied, "releasing a live lease applies")
        let released = try await Self.requireJob(store, "a")
        try expect(
            released.status == .queued && released.attempts == 0,
            "a released job is queued, its attempt not charged"
        )
        let second = try await Self.claim(store, "w2", at: 3)
        try expect(second?.jobID == "a", "a released job goes back ahead of jobs queued after it")
        try expect(second?.attempt == 1 && second?.fence == 2, "the new claim is attempt 1 with a new fence")
        try expect(
            try await store.complete(first, result: "old", now: Self.at(4)) == .fenced,
            "the released lease cannot write"
        )
        if let second {
            try expect(
                try await store.complete(second, result: "new", now: Self.at(4)) == .applied,
                "the new lease writes"
            )
        }
    }

    static func releaseWithADelayHoldsTheJobBackUncharged(_ store: any JobStore) async throws {
        _ = try await Self.enqueue(store, "a", maxAttempts: 1)
        _ = try await Self.enqueue(store, "b", maxAttempts: 1, at: 1)
        guard let first = try await Self.claim(store, "w1", at: 2) else { throw ContractViolation("nothing claimed") }
        let outcome = try await store.release(first, retryAfter: .seconds(30), error: "waiting", now: Self.at(3))
        try expect(outcome == .applied, "releasing a live lease with a delay applies")
        let held = try await Self.requireJob(store, "a")
        try expect(
            held.status == .queued && held.attempts == 0 && held.availableAt == Self.at(33) && held.error == "waiting",
            "a job released with a delay is queued from now + delay, uncharged, saying why"
        )
        try expect(try await Self.claim(store, "w2", at: 4)?.jobID == "b", "meanwhile the next job goes first")
        try expect(try await Self.claim(store, "w2", at: 32) == nil, "the held job waits out its delay")
        let again = try await Self.claim(store, "w2", at: 33)
        try expect(again?.jobID == "a" && again?.attempt == 1, "then it is claimed, still on its first attempt")
        try expect(
            try await store.release(first, retryAfter: .seconds(1), error: nil, now: Self.at(34)) == .fenced,
            "a stale lease cannot release"
        )
        if let again {
            _ = try await store.release(again, retryAfter: nil, error: nil, now: Self.at(35))
            let back = try await Self.requireJob(store, "a")
            try expect(
                back.availableAt == Self.at(33) && back.error == "waiting",
                "without a delay nothing else changes"
            )
        }
    }

    /// NUL, other control characters and non-ASCII text in an input and a result come back byte for byte.
    static func textKeepsNULAndControlCharacters(_ store: any JobStore) async throws {
        let input = "abc\u{0}def\u{1}\u{7}\t\r\n\u{1B}[0m\u{7F}é\u{0}"
        _ = try await store.enqueue(NewJob(id: "a", worker: "echo", input: input, maxAttempts: 1), now: Self.t0)
        try expect(try await Self.requireJob(store, "a").input == input, "the input is read back unchanged")
        guard let lease = try await Self.claim(store, at: 1) else { throw ContractViolation("nothing claimed") }
        try expect(lease.job.input == input, "the claimed input is unchanged")
        let result = input.uppercased()
        _ = try await store.complete(lease, result: result, now: Self.at(2))
        try expect(try await Self.requireJob(store, "a").result == result, "the result is read back unchanged")
        _ = try await store.enqueue(NewJob(id: "b", worker: "echo", input: "\u{0}", maxAttempts: 1), now: Self.t0)
        guard let next = try await Self.claim(store, at: 3) else { throw ContractViolation("b not claimed") }
        _ = try await store.completeAndClaim(next, result: "", owner: "w1", leaseDuration: Self.lease, now: Self.at(4))
        let b = try await Self.requireJob(store, "b")
        try expect(b.input == "\u{0}" && b.result == "", "a lone NUL and an empty result survive too")
    }

    static func orphanOnItsLastAttemptFails(_ store: any JobStore) async throws {
        _ = try await Self.enqueue(store, "a", maxAttempts: 1)
        guard try await Self.claim(store, at: 0) != nil else { throw ContractViolation("nothing claimed") }
        try expect(
            try await Self.claim(store, "w2", at: 10) == nil,
            "an orphan with no attempts left is not handed out"
        )
        let job = try await Self.requireJob(store, "a")
        try expect(job.status == .failed && job.error == Job.leaseExpiredMessage, "it fails, saying why")
    }

    static func statsReportDepthAgeAndInFlight(_ store: any JobStore) async throws {
        let empty = try await store.stats(now: Self.t0)
        try expect(
            empty == JobQueueStats(depth: 0, oldestQueuedAgeSeconds: nil, inFlight: 0, expiredLeases: 0),
            "an empty queue"
        )
        for (index, id) in ["a", "b", "c"].enumerated() { _ = try await Self.enqueue(store, id, at: Double(index)) }
        _ = try await Self.claim(store, at: 3)
        let busy = try await store.stats(now: Self.at(5))
        try expect(
            busy.depth == 2 && busy.inFlight == 1 && busy.expiredLeases == 0,
            "two waiting, one running, got \(busy)"
        )
        try expect(busy.oldestQueuedAgeSeconds == 4, "the oldest waiting job has waited 4 s, got \(busy)")
        let later = try await store.stats(now: Self.at(20))
        try expect(later.inFlight == 0 && later.expiredLeases == 1, "an expired lease is reported, got \(later)")
    }
}

extension JobStoreContract {
    static func completeAndClaimHandsOverTheNextJob(_ store: any JobStore) async throws {
        _ = try await Self.enqueue(store, "a", at: 0)
        _ = try await Self.enqueue(store, "b", at: 1)
        guard let first = try await Self.claim(store, "w1", at: 2) else { throw ContractViolation("nothing claimed") }
        let (outcome, next) = try await store.completeAndClaim(
            first,
            result: "done a",
            owner: "w1",
            leaseDuration: Self.lease,
            now: Self.at(3)
        )
        try expect(outcome == .applied, "the completion applies")
        try expect(try await Self.requireJob(store, "a").result == "done a", "the first job succeeded")
        try expect(next?.jobID == "b" && next?.owner == "w1" && next?.attempt == 1, "the next job is claimed")
        try expect(next?.expiresAt == Self.at(13), "with a fresh lease")
        let (again, none) = try await store.completeAndClaim(
            first,
            result: "twice",
            owner: "w1",
            leaseDuration: Self.lease,
            now: Self.at(4)
        )
        try expect(again == .fenced && none == nil, "a stale completion is fenced, and nothing is left to claim")
        try expect(try await Self.requireJob(store, "a").result == "done a", "the first result stays")
    }
}

extension JobStoreContract {
    /// A worker that finishes after its lease ran out, before anyone reclaimed the job, still completes it (its
    /// fence is current), and the same write claims another job, never the one it completes, even though that
    /// one is an orphan on its last attempt by then.
    static func completeAndClaimAfterTheLeaseRanOut(_ store: any JobStore) async throws {
        _ = try await Self.enqueue(store, "a", maxAttempts: 1, at: 0)
        guard let first = try await Self.claim(store, "w1", at: 1) else { throw ContractViolation("nothing claimed") }
        _ = try await Self.enqueue(store, "b", at: 2)
        let (outcome, next) = try await store.completeAndClaim(
            first,
            result: "late",
            owner: "w1",
            leaseDuration: Self.lease,
            now: Self.at(30)
        )
        try expect(outcome == .applied, "the late completion applies")
        let a = try await Self.requireJob(store, "a")
        try expect(a.status == .succeeded && a.result == "late", "a succeeded with its result: \(a)")
        try expect(next?.jobID == "b", "the next job claimed is b: \(String(describing: next?.jobID))")
    }
}

/// A broken rule of a contract suite, with what was expected.
public struct ContractViolation: Error, CustomStringConvertible {
    public var description: String

    public init(_ description: String) {
        self.description = description
    }
}

func expect(_ condition: Bool, _ message: @autoclosure () -> String) throws {
    if !condition { throw ContractViolation(message()) }
}

extension JobStoreContract {
    static func deleteFinishedRemovesOnlyOldFinishedJobs(_ store: any JobStore) async throws {
        for id in ["a", "b", "c", "d", "e"] { _ = try await Self.enqueue(store, id, maxAttempts: 1) }
        // a succeeds at +10 s, b fails at +20 s, c succeeds at +100 s, d runs, e waits.
        guard let a = try await Self.claim(store, at: 10), a.jobID == "a" else {
            throw ContractViolation("a not claimed")
        }
        _ = try await store.complete(a, result: "done", now: Self.at(10))
        guard let b = try await Self.claim(store, at: 20), b.jobID == "b" else {
            throw ContractViolation("b not claimed")
        }
        _ = try await store.fail(b, error: "bad", retryAfter: nil, now: Self.at(20))
        guard let c = try await Self.claim(store, at: 30), c.jobID == "c" else {
            throw ContractViolation("c not claimed")
        }
        _ = try await store.complete(c, result: "done", now: Self.at(100))
        guard try await Self.claim(store, at: 100)?.jobID == "d" else { throw ContractViolation("d not claimed") }

        let deleted = try await store.deleteFinished(before: Self.at(50))
        try expect(deleted == 2, "the two jobs finished before the cutoff are deleted, got \(deleted)")
        let a2 = try await store.job(id: "a")
        let b2 = try await store.job(id: "b")
        try expect(a2 == nil && b2 == nil, "a and b are gone")
        try expect(try await Self.requireJob(store, "c").status == .succeeded, "c finished after the cutoff: kept")
        try expect(try await Self.requireJob(store, "d").status == .running, "a running job is kept")
        try expect(try await Self.requireJob(store, "e").status == .queued, "a queued job is kept")
        // Live jobs stay whatever their age; nothing is left to delete.
        try expect(try await store.deleteFinished(before: Self.at(50)) == 0, "a second sweep deletes nothing")
        let kept = try await store.deleteFinished(before: Self.at(1_000))
        try expect(kept == 1, "later, only c goes, got \(kept)")
        let d = try await store.job(id: "d")
        let e = try await store.job(id: "e")
        try expect(d != nil && e != nil, "live jobs are never deleted")
    }
}
