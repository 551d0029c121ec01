import ArcanosApp
import ArcanosCore
import ArcanosHTTP
import ArcanosTesting
import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import Testing

/// The OpenAI-compatible door (issue 15) on the real server wiring, against the fake model over real
/// sockets: the wire format passed through, the error dialect, degraded answers, and streams that end
/// honestly under each fault the fake can play.
@Suite(.timeLimit(.minutes(1))) struct OpenAICompatibleLiveTests {
    static let key = "door-test-key"
    static let auth = ["authorization": "Bearer \(key)"]

    func environment(_ baseURL: String, _ extra: [String: String] = [:]) -> [String: String] {
        [
            "OPENAI_API_KEY": "test-key", "OPENAI_BASE_URL": baseURL, "AI_MODEL": "primary",
            "FALLBACK_MODEL": "backup", "ARCANOS_API_KEYS": Self.key, "RUN_WORKERS": "false",
            "SELF_TEST_INTERVAL_MS": "0", "OPENAI_TIMEOUT_MS": "3000", "OPENAI_FIRST_TOKEN_TIMEOUT_MS": "300",
            "OPENAI_MAX_ATTEMPTS": "1",
        ].merging(extra) { $1 }
    }

    static func chat(_ model: String, stream: Bool = false, extra: String = "") -> String {
        #"{"model":"\#(model)","messages":[{"role":"user","content":"hello there"}],"stream":\#(stream)\#(extra)}"#
    }

    @Test func aCompletionIsPassedThroughInOpenAIsWireFormat() async throws {
        let fake = FakeOpenAIServer()
        try await fake.withRunning { model in
            try await withLiveServer(environment: self.environment(model)) { server in
                let extra =
                    #","temperature":0.2,"max_tokens":50,"response_format":{"type":"text"},"#
                    + #""tools":[{"type":"function","function":{"name":"lookup","parameters":{"type":"object"}}}],"#
                    + #""tool_choice":"auto""#
                let response = try await post(
                    server + "/v1/chat/completions",
                    json: Self.chat("primary", extra: extra),
                    headers: Self.auth
                )
                #expect(response.status == 200)
                #expect(response.headers["x-arcanos-model"] == "primary")
                #expect(response.json["object"] as? String == "chat.completion")
                let choice = (response.json["choices"] as? [[String: Any]])?.first
                #expect((choice?["message"] as? [String: Any])?["content"] as? String == "Mock answer to: hello there")
                let sent = try #require(
                    try JSONSerialization.jsonObject(with: Data(fake.lastRequestBody)) as? [String: Any]
                )
                #expect(sent["model"] as? String == "primary")
                #expect(sent["temperature"] as? Double == 0.2)
                #expect(sent["max_tokens"] as? Int == 50)
                #expect(sent["tool_choice"] as? String == "auto")
                #expect((sent["tools"] as? [[String: Any]])?.first?["type"] as? String == "function")
                #expect((sent["response_format"] as? [String: Any])?["type"] as? String == "text")
            }
        }
    }

    @Test func theAliasNamesTheWholeChainAndModelsListsEveryName() async throws {
        let fake = FakeOpenAIServer()
        fake.setMode(.error500, forModel: "primary")
        try await fake.withRunning { model in
            try await withLiveServer(environment: self.environment(model)) { server in
                var request = HTTPClientRequest(url: server + "/v1/models")
                request.headers.add(name: "authorization", value: "Bearer \(Self.key)")
                let models = try await send(request)
                #expect(models.status == 200)
                let ids = (models.json["data"] as? [[String: Any]])?.compactMap { $0["id"] as? String }
                #expect(ids == ["arcanos", "primary", "backup"])
                // `arcanos` walks primary → backup; naming backup starts there.
                let viaAlias = try await post(
                    server + "/v1/chat/completions",
                    json: Self.chat("arcanos"),
                    headers: Self.auth
                )
                #expect(viaAlias.status == 200)
                #expect(viaAlias.headers["x-arcanos-model"] == "backup")
            }
        }
    }

    @Test func anUnknownModelIsNotFoundAndAMissingKeyUnauthorizedInOpenAIsErrorShape() async throws {
        let fake = FakeOpenAIServer()
        try await fake.withRunning { model in
            try await withLiveServer(environment: self.environment(model)) { server in
                let unknown = try await post(
                    server + "/v1/chat/completions",
                    json: Self.chat("gpt-nope"),
                    headers: Self.auth
                )
                #expect(unknown.status == 404)
                #expect(unknown.json[path: "error.code"] as? String == "model_not_found")
                #expect(unknown.json[path: "error.type"] as? String == "invalid_request_error")
                #expect(unknown.json[path: "error.message"] is String)
                let anonymous = try await post(server + "/v1/chat/completions", json: Self.chat("primary"))
                #expect(anonymous.status == 401)
                #expect(anonymous.json[path: "error.type"] as? String == "authentication_error")
                let malformed = try await post(
                    server + "/v1/chat/completions",
                    json: #"{"model":"primary","messages":[]}"#,
                    headers: Self.auth
                )
                #expect(malformed.status == 400)
                #expect(malformed.json[path: "error.code"] as? String == "invalid_request")
                #expect(fake.requestCount == 0)
            }
        }
    }

    @Test func aFailingModelIsADegraded503WithRetryAfterAndItsReason() async throws {
        let fake = FakeOpenAIServer(mode: .error500)
        try await fake.withRunning { model in
            try await withLiveServer(environment: self.environment(model)) { server in
                for stream in [false, true] {
                    let response = try await post(
                        server + "/v1/chat/completions",
                        json: Self.chat("primary", stream: stream),
                        headers: Self.auth
                    )
                    #expect(response.status == 503)
                    #expect(response.headers["retry-after"] != nil)
                    #expect(response.headers["x-arcanos-degraded-reason"] == "server_error")
                    #expect(response.json[path: "error.code"] as? String == "server_error")
                    #expect(response.json[path: "error.type"] as? String == "server_error")
                    #expect(response.json["choices"] == nil, "never a placeholder dressed as a completion")
                }
                let metrics = try await get(server + "/metrics")
                let degraded = #"arcanos_degraded_answers_total{fallback_mode="minimal",reason="server_error"} 2"#
                #expect(metrics.body.contains(degraded))
                #expect(metrics.body.contains(#"arcanos_llm_calls_total{model="primary",outcome="server_error"} 2"#))
            }
        }
    }

    @Test func anUpstreamRateLimitIsPassedOnAs429WithItsRetryAfter() async throws {
        let fake = FakeOpenAIServer(mode: .rateLimited)
        // Longer than the call's deadline allows waiting: the door answers instead of retrying.
        fake.retryAfterSeconds = 7
        try await fake.withRunning { model in
            try await withLiveServer(environment: self.environment(model)) { server in
                for stream in [false, true] {
                    let response = try await post(
                        server + "/v1/chat/completions",
                        json: Self.chat("primary", stream: stream),
                        headers: Self.auth
                    )
                    #expect(response.status == 429)
                    #expect(response.headers["retry-after"] == "7")
                    #expect(response.headers["x-arcanos-degraded-reason"] == "rate_limited")
                    #expect(response.json[path: "error.type"] as? String == "rate_limit_error")
                    #expect(response.json[path: "error.code"] as? String == "rate_limited")
                }
            }
        }
    }

    @Test func aStreamIsPassedOnAsItArrivesAndEndsWithDone() async throws {
        let fake = FakeOpenAIServer()
        fake.streamChunkCount = 6
        fake.streamChunkDelay = .milliseconds(250)
        try await fake.withRunning { model in
            // A first-token deadline well past the first chunk's 250 ms: this test is about passing chunks on.
            let environment = self.environment(model, ["OPENAI_FIRST_TOKEN_TIMEOUT_MS": "2000"])
            try await withLiveServer(environment: environment) { server in
                let start = ContinuousClock.now
                let stream = try await StreamedResponse.open(
                    server + "/v1/chat/completions",
                    json: Self.chat("primary", stream: true, extra: #","stream_options":{"include_usage":true}"#)
                )
                #expect(stream.status == 200)
                #expect(stream.headers["content-type"] == "text/event-stream")
                var events: [String] = []
                var firstContentAt: Duration?
                for try await event in stream.events() {
                    if firstContentAt == nil, event.contains(#""content":"Mock"#) {
                        firstContentAt = start.duration(to: .now)
                    }
                    events.append(event)
                }
                let total = start.duration(to: .now)
                // Six chunks 250 ms apart: had the door gathered the stream, the first would come at the end.
                let first = try #require(firstContentAt)
                #expect(first < total - .milliseconds(700), "first content at \(first) of \(total)")
                #expect(events.last == "[DONE]")
                #expect(events.contains { $0.contains(#""usage":{"#) })
                #expect(!events.contains { $0.contains(#""error""#) })
                let metrics = try await get(server + "/metrics")
                #expect(metrics.body.contains(#"arcanos_llm_time_to_first_token_seconds_count{model="primary"} 1"#))
                #expect(metrics.body.contains(#"arcanos_llm_tokens_total{model="primary",kind="completion"} 6"#))
            }
        }
    }

    @Test func aStreamCutAfterItsFirstTokensEndsWithAnErrorEventAndNoDone() async throws {
        let fake = FakeOpenAIServer(mode: .streamCut)
        fake.cutAfterChunks = 2
        // The cut comes once this client has the role chunk and both content chunks.
        fake.holdCut()
        try await fake.withRunning { model in
            try await withLiveServer(environment: self.environment(model, ["OPENAI_FIRST_TOKEN_TIMEOUT_MS": "2000"])) {
                server in
                let stream = try await StreamedResponse.open(
                    server + "/v1/chat/completions",
                    json: Self.chat("primary", stream: true)
                )
                #expect(stream.status == 200)
                var events: [String] = []
                for try await event in stream.events() {
                    events.append(event)
                    if events.count == 3 { fake.releaseCut() }
                }
                // The role chunk, the two content chunks, then the error event.
                #expect(events.count == 4, "\(events)")
                #expect(events.filter { $0.contains(#""content":"#) && !$0.contains(#""content":"""#) }.count == 2)
                let error = try #require(events.last)
                #expect(error.hasPrefix(#"{"error":{"#))
                #expect(error.contains(#""type":"server_error""#))
                #expect(!events.contains("[DONE]"))
                let metrics = try await get(server + "/metrics")
                #expect(metrics.body.contains(#"arcanos_llm_calls_total{model="primary",outcome="connection"} 1"#))
            }
        }
    }

    @Test func aStallBeforeTheFirstTokenIsAnsweredByTheFallbackWithinTheDeadline() async throws {
        let fake = FakeOpenAIServer()
        fake.setMode(.stallFirstToken, forModel: "primary")
        try await fake.withRunning { model in
            // A call timeout far above the first-token deadline, so that only the fallback can answer in time.
            try await withLiveServer(environment: self.environment(model, ["OPENAI_TIMEOUT_MS": "10000"])) { server in
                let start = ContinuousClock.now
                let stream = try await StreamedResponse.open(
                    server + "/v1/chat/completions",
                    json: Self.chat("primary", stream: true)
                )
                let headAt = start.duration(to: .now)
                #expect(stream.status == 200)
                #expect(stream.headers["x-arcanos-model"] == "backup")
                // The first-token deadline is 300 ms; the backup answers at once.
                #expect(headAt >= .milliseconds(300))
                // Well under the 10 s call timeout it would otherwise wait out; loose for tests running in parallel.
                #expect(headAt < .seconds(5), "answered after \(headAt)")
                var events: [String] = []
                for try await event in stream.events() { events.append(event) }
                #expect(events.last == "[DONE]")
                #expect(fake.requestCount == 2, "one stalled attempt at primary, no retry of it, then backup")
            }
        }
    }

    @Test func aClientGoingAwayCancelsTheUpstreamStream() async throws {
        let fake = FakeOpenAIServer()
        fake.streamChunkCount = 1000
        fake.streamChunkDelay = .milliseconds(20)
        try await fake.withRunning { model in
            try await withLiveServerInstance(environment: self.environment(model)) { server, instance in
                let reader = Task {
                    let stream = try await StreamedResponse.open(
                        server + "/v1/chat/completions",
                        json: Self.chat("primary", stream: true)
                    )
                    var count = 0
                    for try await _ in stream.events() {
                        count += 1
                        if count == 3 { break }
                    }
                }
                try await reader.value
                try await Condition.wait("the upstream stream is cancelled", within: .seconds(10)) {
                    fake.streamsCancelled == 1
                }
                // The stream's admission slot is given back with it.
                try await Condition.wait("the admission slot is released", within: .seconds(5)) {
                    instance.askService.client.report().admission?.inFlight == 0
                }
            }
        }
    }
}

/// A streamed answer read event by event over a real socket.
struct StreamedResponse {
    var status: Int
    var headers: [String: String]
    var body: HTTPClientResponse.Body

    static func open(_ url: String, json: String) async throws -> StreamedResponse {
        var request = HTTPClientRequest(url: url)
        request.method = .POST
        request.headers.add(name: "content-type", value: "application/json")
        request.headers.add(name: "authorization", value: "Bearer \(OpenAICompatibleLiveTests.key)")
        request.body = .bytes(ByteBuffer(string: json))
        let response = try await HTTPClient.shared.execute(request, timeout: .seconds(30))
        var headers: [String: String] = [:]
        for header in response.headers { headers[header.name.lowercased()] = header.value }
        return StreamedResponse(status: Int(response.status.code), headers: headers, body: response.body)
    }

    /// The `data` of each event, as text, as the events complete.
    func events() -> AsyncThrowingStream<String, any Error> {
        let body = self.body
        return AsyncThrowingStream { continuation in
            let task = Task {
                var parser = ServerSentEventParser()
                do {
                    for try await buffer in body {
                        for event in parser.append(buffer.readableBytesView) {
                            continuation.yield(String(decoding: event.data, as: UTF8.self))
                        }
                    }
                    continuation.finish()
                } catch {
                    continuation.finish(throwing: error)
                }
            }
            continuation.onTermination = { _ in task.cancel() }
        }
    }
}

/// `OPENAI_FIRST_TOKEN_TIMEOUT_MS`: read, defaulted as README says, validated by name.
@Suite struct FirstTokenTimeoutConfigurationTests {
    @Test func defaultsToTenSecondsAndReadsMilliseconds() throws {
        #expect(try configuration(environment: [:]).model.firstTokenTimeout == .seconds(10))
        let set = try configuration(environment: ["OPENAI_FIRST_TOKEN_TIMEOUT_MS": "750"])
        #expect(set.model.firstTokenTimeout == .milliseconds(750))
    }

    @Test(arguments: ["50", "soon", "-1", "600001"])
    func anInvalidValueNamesTheVariable(_ value: String) {
        let error = #expect(throws: ArcanosError.self) {
            try configuration(environment: ["OPENAI_FIRST_TOKEN_TIMEOUT_MS": value])
        }
        #expect(error?.message.contains("OPENAI_FIRST_TOKEN_TIMEOUT_MS") == true)
    }
}
