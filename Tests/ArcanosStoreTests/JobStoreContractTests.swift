import ArcanosCore
import ArcanosTesting
import Foundation
import GRDB
import Testing

@testable import ArcanosStore

/// The job store contract on every store this target ships, plus the in-memory reference.
@Suite struct JobStoreContractTests {
    @Test(arguments: JobStoreContract.Case.allCases)
    func inMemoryStoreKeepsTheContract(_ check: JobStoreContract.Case) async throws {
        try await JobStoreContract { InMemoryJobStore() }.run(check)
    }

    @Test(arguments: JobStoreContract.Case.allCases)
    func sqliteInMemoryQueueKeepsTheContract(_ check: JobStoreContract.Case) async throws {
        try await JobStoreContract { try SQLiteJobStore(writer: DatabaseQueue()) }.run(check)
    }

    @Test(.timeLimit(.minutes(1)), arguments: JobStoreContract.Case.allCases)
    func sqliteFilePoolKeepsTheContract(_ check: JobStoreContract.Case) async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        try await JobStoreContract { try SQLiteJobStore(path: directory.path + "/" + SQLiteJobStore.fileName) }.run(
            check
        )
    }
}

@Suite struct SQLiteJobStoreTests {
    @Test func deletesALargeBacklogOfFinishedJobsInBatches() async throws {
        let store = try SQLiteJobStore(writer: DatabaseQueue())
        let t0 = Date(timeIntervalSince1970: 1_800_000_000)
        let count = SQLiteJobStore.deleteBatchSize * 2 + 100
        for index in 0..<count {
            _ = try await store.enqueue(NewJob(id: "j\(index)", worker: "echo", input: "x", maxAttempts: 1), now: t0)
            let lease = try #require(try await store.claim(owner: "w", leaseDuration: .seconds(10), now: t0))
            _ = try await store.complete(lease, result: "done", now: t0)
        }
        _ = try await store.enqueue(NewJob(id: "live", worker: "echo", input: "x", maxAttempts: 1), now: t0)
        #expect(try await store.deleteFinished(before: t0.addingTimeInterval(1)) == count)
        #expect(try await store.job(id: "j0") == nil)
        #expect(try await store.job(id: "live")?.status == .queued)
    }

    @Test func jobsSurviveReopeningTheFile() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let path = directory.path + "/" + SQLiteJobStore.fileName
        let now = Date(timeIntervalSince1970: 1_800_000_000)
        do {
            let store = try SQLiteJobStore(path: path)
            _ = try await store.enqueue(NewJob(id: "kept", worker: "echo", input: "hello", maxAttempts: 2), now: now)
            _ = try await store.claim(owner: "w1", leaseDuration: .seconds(5), now: now)
        }
        let reopened = try SQLiteJobStore(path: path)
        let job = try #require(try await reopened.job(id: "kept"))
        #expect(job.status == .running && job.attempts == 1 && job.leaseOwner == "w1")
        let orphan = try await reopened.claim(owner: "w2", leaseDuration: .seconds(5), now: now.addingTimeInterval(5))
        #expect(orphan?.jobID == "kept" && orphan?.attempt == 2)
    }

    @Test func fileIsInWriteAheadLogMode() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let path = directory.path + "/" + SQLiteJobStore.fileName
        _ = try SQLiteJobStore(path: path)
        let mode = try await DatabaseQueue(path: path).read { db in try String.fetchOne(db, sql: "PRAGMA journal_mode")
        }
        #expect(mode == "wal")
    }

    @Test func storeReportsReadyWhenReachable() async throws {
        let store = try SQLiteJobStore(writer: DatabaseQueue())
        #expect(await store.notReadyReasons().isEmpty)
    }

    @Test func claimsUseThePartialIndexes() async throws {
        let queue = try DatabaseQueue()
        _ = try SQLiteJobStore(writer: queue)
        let plans = try await queue.read { db in
            try [
                "SELECT id FROM jobs WHERE status = 'queued' AND available_at <= 0 ORDER BY available_at, created_at, id LIMIT 1",
                "SELECT id FROM jobs WHERE status = 'running' AND lease_expires_at <= 0 ORDER BY lease_expires_at, id LIMIT 1",
            ].map { sql in
                try Row.fetchAll(db, sql: "EXPLAIN QUERY PLAN " + sql).map { $0["detail"] as String }.joined()
            }
        }
        #expect(plans[0].contains("jobs_ready") && !plans[0].contains("TEMP B-TREE"), "\(plans[0])")
        #expect(plans[1].contains("jobs_leased") && !plans[1].contains("TEMP B-TREE"), "\(plans[1])")
    }
}

/// A fresh directory under the system temporary directory.
struct TemporaryDirectory {
    let path: String

    init() throws {
        self.path = NSTemporaryDirectory() + "arcanos-test-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: self.path, withIntermediateDirectories: true)
    }

    func remove() {
        try? FileManager.default.removeItem(atPath: self.path)
    }
}

/// The shared-state contract on SQLite (a queue in memory and a WAL file pool) and the in-memory reference.
@Suite struct SharedStateContractTests {
    @Test(arguments: SharedStateContract.Case.allCases)
    func inMemoryStoreKeepsTheContract(_ check: SharedStateContract.Case) async throws {
        try await SharedStateContract { InMemorySharedStateStore() }.run(check)
    }

    @Test(arguments: SharedStateContract.Case.allCases)
    func sqliteInMemoryQueueKeepsTheContract(_ check: SharedStateContract.Case) async throws {
        try await SharedStateContract { try SQLiteSharedStateStore(writer: DatabaseQueue()) }.run(check)
    }

    @Test(.timeLimit(.minutes(1)), arguments: SharedStateContract.Case.allCases)
    func sqliteFilePoolKeepsTheContract(_ check: SharedStateContract.Case) async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        try await SharedStateContract {
            try SQLiteSharedStateStore(
                sharingDatabaseOf: SQLiteJobStore(path: directory.path + "/" + SQLiteJobStore.fileName)
            )
        }.run(check)
    }
}
