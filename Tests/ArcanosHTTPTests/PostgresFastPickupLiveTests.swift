import ArcanosTesting
import Foundation
import PostgresNIO
import Testing

/// Fast pickup across replicas (LISTEN/NOTIFY): A only enqueues (`RUN_WORKERS=false`), B runs the pool with a
/// 30 s poll, beyond every deadline here, so only a notification can explain B starting a job at once.
@Suite(
    .enabled(if: PostgresTestDatabase.shouldRun, Comment(rawValue: PostgresTestDatabase.skipMessage)),
    .timeLimit(.minutes(1))
)
struct PostgresFastPickupLiveTests {
    static func environment(_ databaseURL: String, runWorkers: Bool) -> [String: String] {
        [
            "DATABASE_URL": databaseURL, "ARCANOS_WORKERS_DIR": PostgresReplicaLiveTests.workers, "WORKER_COUNT": "2",
            "SELF_TEST_INTERVAL_MS": "0", "JOB_POLL_INTERVAL_MS": "30000", "RUN_WORKERS": "\(runWorkers)",
        ]
    }

    @Test func aJobEnqueuedOnOneReplicaStartsOnTheOtherWithoutWaitingForThePoll() async throws {
        try await PostgresTestDatabase.withFreshDatabase { databaseURL in
            try await withLiveServer(environment: Self.environment(databaseURL, runWorkers: false)) { a in
                try await withLiveServer(environment: Self.environment(databaseURL, runWorkers: true)) { b in
                    _ = try await Self.listeners(on: databaseURL, excluding: [])
                    try await Self.expectPickedUpPromptly(enqueuedOn: a, readOn: b)
                }
            }
        }
    }

    @Test func theListenerReconnectsAfterItsConnectionIsKilledAndStillDelivers() async throws {
        try await PostgresTestDatabase.withFreshDatabase { databaseURL in
            try await withLiveServer(environment: Self.environment(databaseURL, runWorkers: false)) { a in
                try await withLiveServer(environment: Self.environment(databaseURL, runWorkers: true)) { b in
                    let killed = try await Self.listeners(on: databaseURL, excluding: [])
                    try await PostgresTestDatabase.withAdminClient { admin in
                        for pid in killed {
                            try await admin.query("SELECT pg_terminate_backend(\(pid))")
                        }
                    }
                    let replacement = try await Self.listeners(on: databaseURL, excluding: killed)
                    #expect(replacement.isDisjoint(with: killed))
                    try await Self.expectPickedUpPromptly(enqueuedOn: a, readOn: b)
                }
            }
        }
    }

    /// Jobs one after the other, each enqueued once the previous one finished (B's workers idle again), each
    /// started within 3 s: the first might be taken by a claim B made anyway, the next ones only when woken.
    static func expectPickedUpPromptly(enqueuedOn a: String, readOn b: String) async throws {
        for index in 0..<3 {
            let accepted = try await post(
                a + "/jobs",
                json: #"{"worker":"uppercase","input":"wake \#(index)"}"#,
                headers: ["x-confirmed": "yes"]
            )
            #expect(accepted.status == 202, "\(accepted.body)")
            let id = try #require(accepted.json["id"] as? String)
            try await Condition.wait("job \(index) enqueued on A succeeds on B", within: .seconds(3)) {
                try await get(b + "/jobs/\(id)").json["status"] as? String == "succeeded"
            }
        }
    }

    /// The backends of `databaseURL`'s database listening for job notifications, once there is at least one
    /// and none is in `excluding` (killed ones linger in `pg_stat_activity` for a moment).
    static func listeners(on databaseURL: String, excluding: Set<Int32>) async throws -> Set<Int32> {
        let database = String(URLComponents(string: databaseURL)?.path.dropFirst() ?? "")
        return try await PostgresTestDatabase.withAdminClient { admin in
            var found: Set<Int32> = []
            try await Condition.wait("a replica listens for job notifications", within: .seconds(10)) {
                found = []
                let rows = try await admin.query(
                    """
                    SELECT pid FROM pg_stat_activity
                    WHERE datname = \(database) AND state = 'idle' AND query LIKE 'LISTEN %'
                    """
                )
                for try await pid in rows.decode(Int32.self) { found.insert(pid) }
                return !found.isEmpty && found.isDisjoint(with: excluding)
            }
            return found
        }
    }
}
