import ArcanosApp
import ArcanosCore
import ArcanosHTTP
import ArcanosTesting
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import NIOCore
import NIOFoundationCompat
import Testing

/// `POST /devops/self-test` through the real router, with the self-test's HTTP side scripted.
@Suite(.timeLimit(.minutes(1))) struct SelfTestRouteTests {
    /// The whole server from the composition root, the self-test's transport scripted.
    struct Harness {
        let transport = ScriptedSelfTestTransport()
        let harness: RouterHarness

        init() {
            self.harness = RouterHarness(provider: nil, selfTestTransport: self.transport)
        }

        func makeApplication() async -> HTTPApplication {
            // What the running server tells the pipeline once it has bound its port.
            await self.harness.server.selfTest.serverRunning(host: "127.0.0.1", port: 8080)
            return self.harness.makeApplication()
        }
    }

    static let confirmed: HTTPFields = [HTTPField.Name("x-confirmed")!: "yes", .contentType: "application/json"]

    func json(_ buffer: ByteBuffer) -> [String: Any] {
        (try? JSONSerialization.jsonObject(with: Data(buffer: buffer))) as? [String: Any] ?? [:]
    }

    @Test func withoutConfirmationTheGateAnswers403AndNothingRuns() async throws {
        let harness = Harness()
        try await harness.makeApplication().test(.router) { client in
            let response = try await client.execute(uri: "/devops/self-test", method: .post)
            #expect(response.status == .forbidden)
            #expect(response.headers[HTTPField.Name("x-confirmation-status")!] == "pending")
            #expect(self.json(response.body)["code"] as? String == "CONFIRMATION_REQUIRED")
        }
        #expect(harness.transport.requests.isEmpty)
    }

    @Test(arguments: ["", "{}", "  { }  \n"])
    func aConfirmedRequestRunsTheSelfTestNowAndReturnsTheSummary(body: String) async throws {
        let harness = Harness()
        try await harness.makeApplication().test(.router) { client in
            let response = try await client.execute(
                uri: "/devops/self-test",
                method: .post,
                headers: Self.confirmed,
                body: ByteBuffer(string: body)
            )
            #expect(response.status == .ok)
            #expect(response.headers[HTTPField.Name("x-confirmation-status")!] == "confirmed")
            #expect(response.headers[.cacheControl] == "no-store")
            let summary = self.json(response.body)
            #expect(summary["status"] as? String == "pass")
            #expect(summary["triggeredBy"] as? String == "api")
            #expect(summary["baseUrl"] as? String == "http://127.0.0.1:8080")
            #expect(summary["targetModel"] as? String == "test-model")
            #expect(summary["passCount"] as? Int == 3)
            #expect((summary["results"] as? [[String: Any]])?.count == 3)
            #expect(summary["lastRun"] is String && summary["completedAt"] is String)
        }
        #expect(harness.transport.requests.map(\.url) == Array(repeating: "http://127.0.0.1:8080/ask", count: 3))
    }

    @Test func aFailedSelfTestIsStillA200WithStatusFail() async throws {
        let harness = Harness()
        harness.transport.answer { _ in ScriptedSelfTestTransport.answerDegraded(reason: "circuit_open") }
        try await harness.makeApplication().test(.router) { client in
            let response = try await client.execute(uri: "/devops/self-test", method: .post, headers: Self.confirmed)
            #expect(response.status == .ok)
            #expect(self.json(response.body)["status"] as? String == "fail")
            #expect(self.json(response.body)["failCount"] as? Int == 3)
        }
    }

    @Test(arguments: [
        #"{"url":"http://169.254.169.254/latest/meta-data"}"#,
        #"{"baseUrl":"http://evil.example"}"#,
        #"{"target":"http://127.0.0.1:22"}"#,
        #"{"prompts":["x"]}"#,
        #"{"unknown":true}"#,
        #"[]"#,
        #""http://evil.example""#,
        #"{"url":"#,
    ])
    func aBodyNamingATargetOrAnythingElseIs400AndNothingRuns(body: String) async throws {
        let harness = Harness()
        try await harness.makeApplication().test(.router) { client in
            let response = try await client.execute(
                uri: "/devops/self-test",
                method: .post,
                headers: Self.confirmed,
                body: ByteBuffer(string: body)
            )
            #expect(response.status == .badRequest)
            let error = self.json(response.body)
            #expect(error["error"] as? String == "invalid_request")
            #expect(error["message"] is String)
            #expect(!String(buffer: response.body).contains("evil.example"), "the body is never echoed")
            #expect(!String(buffer: response.body).contains("169.254"), "the body is never echoed")
        }
        #expect(harness.transport.requests.isEmpty)
    }

    @Test func aURLInTheBodyIsRefusedWithAMessageSayingTheServerPicksTheTarget() async throws {
        let harness = Harness()
        try await harness.makeApplication().test(.router) { client in
            let response = try await client.execute(
                uri: "/devops/self-test",
                method: .post,
                headers: Self.confirmed,
                body: ByteBuffer(string: #"{"url":"http://evil.example"}"#)
            )
            #expect(response.status == .badRequest)
            #expect(
                self.json(response.body)["message"] as? String
                    == "the self-test target is chosen by the server; the body takes no fields"
            )
            #expect((self.json(response.body)["details"] as? [String: Any])?["unknownFields"] as? [String] == ["url"])
        }
    }

    @Test func onlyPOSTRunsIt() async throws {
        let harness = Harness()
        try await harness.makeApplication().test(.router) { client in
            let response = try await client.execute(uri: "/devops/self-test", method: .get, headers: Self.confirmed)
            #expect(response.status != .ok)
        }
        #expect(harness.transport.requests.isEmpty)
    }
}
