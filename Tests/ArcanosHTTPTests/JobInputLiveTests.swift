import ArcanosTesting
import Foundation
import Testing

/// Issue 16, finding 7: a job's input reaches its command byte for byte, through the real server wiring
/// (JSON body, SQLite store, worker, command stdin and stdout, and back out of `GET /jobs/:id`).
@Suite(.timeLimit(.minutes(1))) struct JobInputLiveTests {
    @Test("issue 16: NUL and other control characters in a job's input reach the command unchanged")
    func controlCharactersReachTheCommandUnchanged() async throws {
        let workers = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .appendingPathComponent("../../workers").standardized.path
        try await withLiveServer(environment: ["ARCANOS_WORKERS_DIR": workers, "WORKER_COUNT": "1"]) { server in
            let accepted = try await post(
                server + "/jobs",
                json: #"{"worker":"uppercase","input":"abc\u0000def\u0001\u001b[0m\tghi\u007f"}"#,
                headers: ["x-confirmed": "yes"]
            )
            #expect(accepted.status == 202, "\(accepted.body)")
            let id = try #require(accepted.json["id"] as? String)
            try await Condition.wait("the job finishes", within: .seconds(20)) {
                let status = try await get(server + "/jobs/\(id)").json["status"] as? String
                return status == "succeeded" || status == "failed"
            }
            let job = try await get(server + "/jobs/\(id)")
            #expect(job.json["status"] as? String == "succeeded", "\(job.body)")
            // `tr a-z A-Z` leaves every byte but the letters alone: before the fix the store cut at the NUL.
            #expect(job.json["result"] as? String == "ABC\u{0}DEF\u{1}\u{1B}[0M\tGHI\u{7F}")
        }
    }
}
