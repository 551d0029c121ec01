import ArcanosCore
import ArcanosTesting
import AsyncHTTPClient
import Foundation
import Testing

@testable import ArcanosLLM

/// The real HTTP provider against the fake OpenAI-compatible server, through real sockets.
@Suite(.timeLimit(.minutes(1))) struct OpenAIChatProviderTests {
    let request = LLMRequest(model: "mock-model", messages: [.system("be brief"), .user("Are you online?")])

    func complete(mode: FakeOpenAIServer.Mode, timeout: Duration = .seconds(5)) async throws -> LLMCompletion {
        let fake = FakeOpenAIServer(mode: mode)
        return try await fake.withRunning { baseURL in
            let provider = OpenAIChatProvider(
                httpClient: .shared,
                configuration: .init(baseURL: baseURL, apiKey: "test-key")
            )
            return try await provider.complete(self.request, timeout: timeout)
        }
    }

    func failure(mode: FakeOpenAIServer.Mode, timeout: Duration = .seconds(5)) async -> LLMFailure? {
        do {
            _ = try await self.complete(mode: mode, timeout: timeout)
            return nil
        } catch {
            return error as? LLMFailure
        }
    }

    @Test func returnsTheCompletionOfAnOKServer() async throws {
        let completion = try await self.complete(mode: .ok)
        #expect(completion.content == "Mock answer to: Are you online?")
        #expect(completion.model == "mock-model")
        #expect(completion.id.hasPrefix("chatcmpl-mock-"))
        #expect(completion.usage?.totalTokens ?? 0 > 0)
    }

    @Test func classifiesA500AsAServerError() async {
        let failure = await self.failure(mode: .error500)
        #expect(failure?.kind == .serverError)
        #expect(failure?.statusCode == 500)
    }

    @Test func classifiesA429AsRateLimitedWithItsRetryAfter() async {
        let failure = await self.failure(mode: .rateLimited)
        #expect(failure?.kind == .rateLimited)
        #expect(failure?.retryAfter == .seconds(1))
    }

    @Test(arguments: [FakeOpenAIServer.Mode.garbage, .wrongShape])
    func classifiesAnUnreadableBodyAsInvalid(mode: FakeOpenAIServer.Mode) async {
        #expect(await self.failure(mode: mode)?.kind == .invalidResponse)
    }

    @Test func givesUpOnAHangingServerAtTheDeadline() async throws {
        let fake = FakeOpenAIServer(mode: .hang)
        let (failure, elapsed) = try await fake.withRunning { baseURL in
            let provider = OpenAIChatProvider(httpClient: .shared, configuration: .init(baseURL: baseURL, apiKey: "k"))
            let start = ContinuousClock.now
            do {
                _ = try await provider.complete(self.request, timeout: .milliseconds(300))
                return (LLMFailure?.none, start.duration(to: .now))
            } catch {
                return (error as? LLMFailure, start.duration(to: .now))
            }
        }
        #expect(failure?.kind == .timeout)
        #expect(elapsed >= .milliseconds(300))
        // An upper bound far below the hour the fake would hold the request, with room for a loaded machine
        // (3 s was reached once with eight builders at work).
        #expect(elapsed < .seconds(10))
    }

    @Test func anUnreachableServerIsAConnectionFailure() async throws {
        let provider = OpenAIChatProvider(
            httpClient: .shared,
            configuration: .init(baseURL: "http://127.0.0.1:1/v1", apiKey: "k")
        )
        await #expect(throws: LLMFailure.self) { try await provider.complete(self.request, timeout: .seconds(2)) }
    }

    /// Issue 11: a wait for one of the pooled connections is local saturation, not the upstream failing.
    @Test("issue 11: a pooled-connection wait is overloaded; a cancelled caller is neither")
    func aPoolWaitIsOverloadedAndNeverCounts() {
        let pool = OpenAIChatProvider.classify(HTTPClientError.getConnectionFromPoolTimeout) as? LLMFailure
        #expect(pool?.kind == .overloaded)
        #expect(pool?.kind.countsTowardBreaker == false)
        #expect(OpenAIChatProvider.classify(HTTPClientError.cancelled) is CancellationError)
        #expect((OpenAIChatProvider.classify(HTTPClientError.connectTimeout) as? LLMFailure)?.kind == .connection)
        #expect((OpenAIChatProvider.classify(HTTPClientError.deadlineExceeded) as? LLMFailure)?.kind == .timeout)
    }

    @Test func sendsAStrictJSONSchemaResponseFormat() async throws {
        let fake = FakeOpenAIServer(mode: .ok)
        fake.structuredContent = #"{"ok":true}"#
        let content = try await fake.withRunning { baseURL in
            let provider = OpenAIChatProvider(httpClient: .shared, configuration: .init(baseURL: baseURL, apiKey: "k"))
            var request = self.request
            request.responseFormat = .jsonSchema(name: "probe", schema: ["type": "object"], strict: true)
            return try await provider.complete(request, timeout: .seconds(5)).content
        }
        #expect(content == #"{"ok":true}"#)
    }

    @Test func writesTheChatCompletionsRequestBody() throws {
        func decoded(_ request: LLMRequest) throws -> JSONValue {
            try JSONDecoder().decode(JSONValue.self, from: Data(OpenAIChatProvider.body(of: request)))
        }
        let messages: JSONValue = [
            ["role": "system", "content": "be brief"], ["role": "user", "content": "Are you online?"],
        ]
        #expect(try decoded(self.request) == ["model": "mock-model", "messages": messages])

        var structured = self.request
        structured.responseFormat = .jsonSchema(
            name: "plan",
            schema: ["type": "object", "required": ["steps"]],
            strict: true
        )
        structured.maxTokens = 400
        structured.temperature = 0.2
        #expect(
            try decoded(structured) == [
                "model": "mock-model", "messages": messages,
                "response_format": [
                    "type": "json_schema",
                    "json_schema": [
                        "name": "plan", "schema": ["type": "object", "required": ["steps"]], "strict": true,
                    ],
                ],
                "max_tokens": 400, "temperature": .number(0.2),
            ]
        )
    }

    @Test(arguments: [("5", 5.0), ("0.5", 0.5), ("nonsense", -1.0)])
    func parsesRetryAfter(header: String, seconds: Double) {
        let parsed = OpenAIChatProvider.parseRetryAfter(header)
        if seconds < 0 {
            #expect(parsed == nil)
        } else {
            #expect(parsed == .milliseconds(Int64(seconds * 1000)))
        }
    }
}
