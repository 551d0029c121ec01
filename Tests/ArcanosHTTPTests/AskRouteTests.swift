import ArcanosApp
import ArcanosCore
import ArcanosHTTP
import ArcanosTesting
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import Testing

@Suite(.timeLimit(.minutes(1))) struct AskRouteTests {
    func json(_ buffer: ByteBuffer) -> [String: Any] {
        (try? JSONSerialization.jsonObject(with: Data(String(buffer: buffer).utf8))) as? [String: Any] ?? [:]
    }

    @Test func answersAPromptWithTheModelsText() async throws {
        let harness = RouterHarness(provider: ScriptedLLMProvider([.answer("Online and ready.")]))
        try await harness.makeApplication().test(.router) { client in
            try await client.execute(
                uri: "/ask",
                method: .post,
                headers: [.contentType: "application/json"],
                body: ByteBuffer(string: #"{"prompt":"Are you online?"}"#)
            ) {
                response in
                #expect(response.status == .ok)
                let body = self.json(response.body)
                #expect(body["result"] as? String == "Online and ready.")
                #expect(body["activeModel"] as? String == "test-model")
                #expect(body["module"] as? String == "arcanos-core")
                #expect((body["meta"] as? [String: Any])?["id"] is String)
                #expect((body["meta"] as? [String: Any])?["created"] is String)
            }
        }
    }

    @Test func answersAGetWithAPromptQuery() async throws {
        let provider = ScriptedLLMProvider([.answer("pong")])
        let harness = RouterHarness(provider: provider)
        try await harness.makeApplication().test(.router) { client in
            try await client.execute(uri: "/ask?prompt=ping%20me", method: .get) { response in
                #expect(response.status == .ok)
                #expect(self.json(response.body)["result"] as? String == "pong")
            }
        }
        #expect(provider.requests.first?.messages.last?.content == "ping me")
    }

    @Test(arguments: [
        (#"{"prompt":"#, "request body is not valid JSON"),
        (#"{}"#, "prompt is required"),
        (#"{"prompt":42}"#, "prompt must be a string"),
        (#"{"prompt":"   "}"#, "prompt must not be empty"),
        (#"{"prompt":"ok","metadata":[1]}"#, "metadata must be an object"),
        (#"{"prompt":"ok","sessionId":5}"#, "sessionId must be a string"),
        (#"[1,2]"#, "must be an object"),
        ("", "request body must be a JSON object"),
    ])
    func rejectsBadInputWithA400(body: String, message: String) async throws {
        let provider = ScriptedLLMProvider()
        let harness = RouterHarness(provider: provider)
        try await harness.makeApplication().test(.router) { client in
            try await client.execute(
                uri: "/ask",
                method: .post,
                headers: [.contentType: "application/json"],
                body: ByteBuffer(string: body)
            ) { response in
                #expect(response.status == .badRequest)
                let json = self.json(response.body)
                #expect(json["error"] as? String == "invalid_request")
                #expect((json["message"] as? String)?.contains(message) == true, "\(json)")
            }
        }
        #expect(provider.requests.isEmpty)
    }

    @Test func rejectsAPromptOverTenThousandCharacters() async throws {
        let harness = RouterHarness(provider: ScriptedLLMProvider())
        let prompt = String(repeating: "a", count: 10_001)
        try await harness.makeApplication().test(.router) { client in
            try await client.execute(
                uri: "/ask",
                method: .post,
                headers: [.contentType: "application/json"],
                body: ByteBuffer(string: #"{"prompt":"\#(prompt)"}"#)
            ) {
                response in
                #expect(response.status == .badRequest)
            }
        }
    }

    @Test func rejectsABodyOverTheLimitWith413() async throws {
        let harness = RouterHarness(provider: ScriptedLLMProvider()) { $0.server.maximumBodyBytes = 1024 }
        let prompt = String(repeating: "a", count: 2000)
        try await harness.makeApplication().test(.router) { client in
            try await client.execute(
                uri: "/ask",
                method: .post,
                headers: [.contentType: "application/json"],
                body: ByteBuffer(string: #"{"prompt":"\#(prompt)"}"#)
            ) {
                response in
                #expect(response.status == .contentTooLarge)
                #expect(self.json(response.body)["error"] as? String == "payload_too_large")
            }
        }
    }

    @Test func unknownRoutesAreJSON404s() async throws {
        try await RouterHarness(provider: nil).makeApplication().test(.router) { client in
            try await client.execute(uri: "/nope", method: .get) { response in
                #expect(response.status == .notFound)
                #expect(self.json(response.body)["error"] as? String == "not_found")
            }
        }
    }

    @Test func withoutAModelAnswersDegradedWithALabelledMock() async throws {
        try await RouterHarness(provider: nil).makeApplication().test(.router) { client in
            try await client.execute(
                uri: "/ask",
                method: .post,
                headers: [.contentType: "application/json"],
                body: ByteBuffer(string: #"{"prompt":"hello"}"#)
            ) {
                response in
                #expect(response.status == .serviceUnavailable)
                #expect(response.headers[.retryAfter] == "5")
                #expect(response.headers[.arcanosDegradedReason] == "not_configured")
                let body = self.json(response.body)
                #expect(body["status"] as? String == "degraded")
                #expect(body["fallbackMode"] as? String == "mock")
                #expect(body["reason"] as? String == "not_configured")
                #expect(body["timestamp"] is String)
                #expect(body["message"] is String)
                #expect((body["data"] as? [String: Any])?["mock"] as? Bool == true)
            }
        }
    }

    @Test func aStrictEnvironmentDegradesPreemptivelyWithoutAModel() async throws {
        let harness = RouterHarness(provider: nil) {
            $0.server.environment = "production"
            $0.fallback.strictEnvironments = ["production"]
        }
        try await harness.makeApplication().test(.router) { client in
            try await client.execute(
                uri: "/ask",
                method: .post,
                headers: [.contentType: "application/json"],
                body: ByteBuffer(string: #"{"prompt":"hello"}"#)
            ) {
                response in
                #expect(response.status == .serviceUnavailable)
                #expect(response.headers[.arcanosDegradedReason] == "not_configured")
            }
        }
    }

    @Test func anOpenBreakerAnswersDegradedWithoutCallingTheModel() async throws {
        let provider = ScriptedLLMProvider(whenEmpty: .fail(LLMFailure(.serverError, statusCode: 500)))
        let harness = RouterHarness(provider: provider, maxAttempts: 1, breakerThreshold: 2)
        try await harness.makeApplication().test(.router) { client in
            for _ in 0..<2 {
                try await client.execute(
                    uri: "/ask",
                    method: .post,
                    headers: [.contentType: "application/json"],
                    body: ByteBuffer(string: #"{"prompt":"x"}"#)
                ) {
                    response in
                    #expect(response.status == .serviceUnavailable)
                    #expect(response.headers[.arcanosDegradedReason] == "server_error")
                }
            }
            for _ in 0..<5 {
                try await client.execute(
                    uri: "/ask",
                    method: .post,
                    headers: [.contentType: "application/json"],
                    body: ByteBuffer(string: #"{"prompt":"x"}"#)
                ) {
                    response in
                    #expect(response.status == .serviceUnavailable)
                    #expect(response.headers[.arcanosDegradedReason] == "circuit_open")
                    // The 60 s open time, less the breaker's jitter (at most 20 %) and the time passed.
                    #expect(Int(response.headers[.retryAfter] ?? "") ?? 0 >= 45)
                }
            }
        }
        #expect(provider.requests.count == 2)
    }

    @Test func servesTheLastGoodAnswerWhenTheModelFails() async throws {
        let provider = ScriptedLLMProvider([.answer("cached truth"), .fail(LLMFailure(.timeout))])
        try await RouterHarness(provider: provider).makeApplication().test(.router) { client in
            let body = ByteBuffer(string: #"{"prompt":"what is true?"}"#)
            try await client.execute(
                uri: "/ask",
                method: .post,
                headers: [.contentType: "application/json"],
                body: body
            ) { #expect($0.status == .ok) }
            try await client.execute(
                uri: "/ask",
                method: .post,
                headers: [.contentType: "application/json"],
                body: body
            ) { response in
                #expect(response.status == .serviceUnavailable)
                let json = self.json(response.body)
                #expect(json["fallbackMode"] as? String == "cache")
                #expect((json["data"] as? [String: Any])?["result"] as? String == "cached truth")
            }
        }
    }

    @Test func neverShowsProviderErrorTextToTheClient() async throws {
        let provider = ScriptedLLMProvider([
            .fail(LLMFailure(.rejected, statusCode: 401, detail: "Incorrect API key provided: sk-live-SECRET123"))
        ])
        try await RouterHarness(provider: provider).makeApplication().test(.router) { client in
            try await client.execute(
                uri: "/ask",
                method: .post,
                headers: [.contentType: "application/json"],
                body: ByteBuffer(string: #"{"prompt":"x"}"#)
            ) {
                response in
                #expect(response.status == .serviceUnavailable)
                #expect(!String(buffer: response.body).contains("sk-live"))
                #expect(!String(buffer: response.body).contains("Incorrect API key"))
            }
        }
    }
}

@Suite struct AuthAndHealthRouteTests {
    func harness(keys: [String]) -> RouterHarness {
        RouterHarness(provider: ScriptedLLMProvider()) { $0.auth.apiKeys = keys }
    }

    @Test func requiresABearerKeyWhenKeysAreConfigured() async throws {
        try await self.harness(keys: ["key-one", "key-two"]).makeApplication().test(.router) { client in
            let body = ByteBuffer(string: #"{"prompt":"x"}"#)
            try await client.execute(
                uri: "/ask",
                method: .post,
                headers: [.contentType: "application/json"],
                body: body
            ) { response in
                #expect(response.status == .unauthorized)
                #expect(String(buffer: response.body).contains(#""error":"unauthorized""#))
                #expect(response.headers[.wwwAuthenticate] != nil)
            }
            for wrong in ["Bearer key-on", "Bearer key-one1", "Bearer KEY-ONE", "Basic key-one", "key-one"] {
                try await client.execute(
                    uri: "/ask",
                    method: .post,
                    headers: [.authorization: wrong, .contentType: "application/json"],
                    body: body
                ) {
                    #expect($0.status == .unauthorized, "\(wrong)")
                }
            }
            for key in ["key-one", "key-two"] {
                try await client.execute(
                    uri: "/ask",
                    method: .post,
                    headers: [.authorization: "Bearer \(key)", .contentType: "application/json"],
                    body: body
                ) {
                    #expect($0.status == .ok)
                }
            }
        }
    }

    @Test func healthAndReadinessArePublic() async throws {
        try await self.harness(keys: ["k"]).makeApplication().test(.router) { client in
            try await client.execute(uri: "/health", method: .get) { #expect($0.status == .ok) }
            try await client.execute(uri: "/ready", method: .get) { response in
                #expect(response.status == .ok)
                #expect(String(buffer: response.body).contains(#""status":"ready""#))
            }
        }
    }

    @Test func readinessFailsWithAReasonWhenTheDataDirectoryIsMissing() async throws {
        // The server creates it at start; it goes away while the server runs (a file in its place, so that no
        // state write makes it again).
        let harness = RouterHarness(provider: nil)
        let directory = harness.configuration.server.dataDirectory
        try FileManager.default.removeItem(atPath: directory)
        #expect(FileManager.default.createFile(atPath: directory, contents: Data()))
        try await harness.makeApplication().test(.router) { client in
            try await client.execute(uri: "/ready", method: .get) { response in
                #expect(response.status == .serviceUnavailable)
                #expect(String(buffer: response.body).contains("data directory does not exist"))
            }
        }
    }
}
