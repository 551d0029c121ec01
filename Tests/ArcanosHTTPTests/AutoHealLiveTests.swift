import ArcanosApp
import ArcanosCore
import ArcanosHTTP
import AsyncHTTPClient
import Foundation
import Logging
import NIOCore
import NIOHTTP1
import ServiceLifecycle
import Testing

/// The auto-heal routes on the real server wiring (`buildApplication`), through real sockets.
@Suite(.timeLimit(.minutes(1))) struct AutoHealLiveTests {
    /// Runs the server on an ephemeral loopback port over an existing data directory.
    func withServer(
        dataDirectory: String,
        environment: [String: String] = [:],
        _ body: @Sendable (_ baseURL: String) async throws -> Void
    ) async throws {
        try await withLiveServerInstance(environment: environment, dataDirectory: dataDirectory) { baseURL, _ in
            try await body(baseURL)
        }
    }

    @Test func aCorruptStateFileIsQuarantinedAtStartAndTheNextHealPersists() async throws {
        let dataDirectory = makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dataDirectory) }
        try FileManager.default.createDirectory(atPath: dataDirectory + "/workers", withIntermediateDirectories: true)
        try Data(#"{"status":"running","workers":{"lastHeal""#.utf8)
            .write(to: URL(fileURLWithPath: dataDirectory + "/systemState.json"))
        let environment = [
            "WORKER_COUNT": "2", "ARCANOS_WORKERS_DIR": dataDirectory + "/workers", "SELF_TEST_INTERVAL_MS": "0",
        ]
        try await self.withServer(dataDirectory: dataDirectory, environment: environment) { baseURL in
            let status = try await get(baseURL + "/workers/status")
            #expect(status.status == 200)
            #expect(status.headers["cache-control"] == "no-store")
            #expect(!status.body.contains(dataDirectory))

            let heal = try await post(
                baseURL + "/workers/heal",
                json: #"{"execute":true}"#,
                headers: ["x-confirmed": "yes"]
            )
            #expect(heal.status == 200)
            #expect(heal.headers["x-confirmation-status"] == "confirmed")
            #expect(heal.json[path: "execution.verified"] as? Bool == true)
            #expect(heal.json[path: "execution.restart.started"] as? Bool == true)
            let planId = try #require(heal.json[path: "plan.planId"] as? String)

            let files = try FileManager.default.contentsOfDirectory(atPath: dataDirectory)
            #expect(files.contains { $0.hasPrefix("systemState.json.corrupt-") })
            let text = try String(contentsOfFile: dataDirectory + "/systemState.json", encoding: .utf8)
            let document = try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
            #expect(document[path: "workers.lastHeal.planId"] as? String == planId)
            #expect(document[path: "workers.lastHeal.verified"] as? Bool == true)
            #expect(document["status"] as? String == "running")

            // No keys are configured and this client is on loopback: the detail view is allowed.
            let detail = try await get(baseURL + "/workers/status?view=detail")
            #expect(detail.status == 200)
            #expect(detail.json["view"] as? String == "detail")
            #expect(detail.json[path: "lastHeal.planId"] as? String == planId)
            #expect(detail.json[path: "arcanosWorkers.runtime.activeListeners"] as? Int == 2)

            let heals = try await get(baseURL + "/workers/heals")
            #expect(heals.status == 200)
            #expect((heals.json["heals"] as? [Any])?.count == 1)
        }
    }
}
