import ArcanosCore
import ArcanosTesting
import Logging
import Testing

@Suite(.timeLimit(.minutes(1))) struct ResilientLLMClientTests {
    func makeClient(
        _ provider: ScriptedLLMProvider?,
        models: [String] = ["primary"],
        maxAttempts: Int = 3,
        threshold: Int = 5,
        timeout: Duration = .seconds(10)
    ) -> ResilientLLMClient {
        ResilientLLMClient(
            provider: provider,
            configuration: .init(
                models: models,
                callTimeout: timeout,
                retry: .init(maxAttempts: maxAttempts, baseDelay: .milliseconds(1), maxDelay: .milliseconds(2)),
                breaker: .init(failureThreshold: threshold, openDuration: .seconds(60))
            ),
            logger: Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() })
        )
    }

    let request = LLMRequest(messages: [.user("hello")])

    @Test func answersFromThePrimaryModel() async throws {
        let provider = ScriptedLLMProvider([.answer("hi")])
        let completion = try await self.makeClient(provider).complete(self.request)
        #expect(completion.content == "hi")
        #expect(provider.requests.map(\.model) == ["primary"])
    }

    @Test func retriesARetryableFailureThenSucceeds() async throws {
        let provider = ScriptedLLMProvider([.fail(LLMFailure(.serverError, statusCode: 500)), .answer("second")])
        let completion = try await self.makeClient(provider).complete(self.request)
        #expect(completion.content == "second")
        #expect(provider.requests.count == 2)
    }

    @Test func doesNotRetryARejectedRequest() async throws {
        let provider = ScriptedLLMProvider([.fail(LLMFailure(.rejected, statusCode: 400))])
        await #expect(throws: ArcanosError.self) { try await self.makeClient(provider).complete(self.request) }
        #expect(provider.requests.count == 1)
    }

    @Test func fallsBackToTheNextModelInOrder() async throws {
        let provider = ScriptedLLMProvider([.fail(LLMFailure(.invalidResponse)), .answer("from fallback")])
        let client = self.makeClient(provider, models: ["primary", "fallback"])
        let completion = try await client.complete(self.request)
        #expect(completion.content == "from fallback")
        #expect(provider.requests.map(\.model) == ["primary", "fallback"])
    }

    @Test func opensTheBreakerAndThenFailsWithoutCallingTheProvider() async throws {
        let provider = ScriptedLLMProvider(whenEmpty: .fail(LLMFailure(.serverError, statusCode: 500)))
        let client = self.makeClient(provider, maxAttempts: 1, threshold: 5)
        for _ in 0..<5 {
            await #expect(throws: ArcanosError.self) { try await client.complete(self.request) }
        }
        #expect(provider.requests.count == 5)
        #expect(client.report().models.first?.breaker == .open)
        guard case .circuitOpen(let retryAfter) = client.availability() else {
            Issue.record("expected an open circuit")
            return
        }
        #expect(retryAfter > .seconds(50))
        let error = await #expect(throws: ArcanosError.self) { try await client.complete(self.request) }
        #expect(error?.code == .circuitOpen)
        #expect(provider.requests.count == 5)
    }

    @Test func rejectedRequestsDoNotOpenTheBreaker() async throws {
        let provider = ScriptedLLMProvider(whenEmpty: .fail(LLMFailure(.rejected, statusCode: 401)))
        let client = self.makeClient(provider, maxAttempts: 1, threshold: 2)
        for _ in 0..<4 {
            await #expect(throws: ArcanosError.self) { try await client.complete(self.request) }
        }
        #expect(client.availability() == .available)
    }

    @Test func stopsRetryingWhenTheCallerIsCancelled() async throws {
        // A long backoff: the test would hit its time limit if cancellation did not cut it short.
        let provider = ScriptedLLMProvider(
            whenEmpty: .fail(LLMFailure(.rateLimited, statusCode: 429, retryAfter: .seconds(8)))
        )
        let client = ResilientLLMClient(
            provider: provider,
            configuration: .init(models: ["primary"], callTimeout: .seconds(120), retry: .init(maxAttempts: 5)),
            logger: Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() })
        )
        let task = Task { try await client.complete(self.request) }
        var calls = provider.calls.makeAsyncIterator()
        _ = await calls.next()
        task.cancel()
        await #expect(throws: CancellationError.self) { try await task.value }
        #expect(provider.requests.count == 1)
    }

    @Test func aCancelledCallDoesNotCountAsAFailure() async throws {
        let provider = ScriptedLLMProvider([.hang])
        let client = self.makeClient(provider, maxAttempts: 1, threshold: 1)
        let task = Task { try await client.complete(self.request) }
        var calls = provider.calls.makeAsyncIterator()
        _ = await calls.next()
        task.cancel()
        _ = try? await task.value
        #expect(client.availability() == .available)
        #expect(client.report().models.first?.failures == 0)
    }

    @Test func withoutAProviderEveryCallIsNotConfigured() async throws {
        let client = self.makeClient(nil)
        #expect(client.availability() == .notConfigured)
        let error = await #expect(throws: ArcanosError.self) { try await client.complete(self.request) }
        #expect((error?.underlying as? LLMFailure)?.kind == .notConfigured)
    }
}
