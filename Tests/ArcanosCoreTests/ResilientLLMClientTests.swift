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
        #expect(retryAfter > .seconds(45))  // 60 s less at most 20 % jitter
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

    // MARK: Issue 11: load is not an outage

    @Test(
        "issue 11: an overloaded call (a pooled-connection wait) never moves the breaker",
        arguments: [1, 3]
    )
    func overloadedCallsNeverCount(threshold: Int) async throws {
        let provider = ScriptedLLMProvider(whenEmpty: .fail(LLMFailure(.overloaded, retryAfter: .seconds(1))))
        let client = self.makeClient(provider, models: ["primary", "fallback"], maxAttempts: 3, threshold: threshold)
        for _ in 0..<10 {
            let error = await #expect(throws: ArcanosError.self) { try await client.complete(self.request) }
            #expect(error?.code == .llmUnavailable)
            #expect((error?.underlying as? LLMFailure)?.kind == .overloaded)
        }
        // Not retried, and not handed to the fallback model: it would wait in the same queue.
        #expect(provider.requests.map(\.model) == Array(repeating: "primary", count: 10))
        #expect(client.availability() == .available)
        let report = try #require(client.report().models.first)
        #expect(report.breaker == .closed)
        #expect(report.failures == 0)
        #expect(report.overloaded == 10)
    }

    @Test("issue 11: a call turned away by the admission limit is overloaded, not a failure")
    func aShedCallIsOverloadedAndNeverReachesTheProvider() async throws {
        let provider = ScriptedLLMProvider([.hang])
        let limiter = AdmissionLimiter(configuration: .init(limit: 1, maximumWaiting: 0))
        let client = ResilientLLMClient(
            provider: provider,
            configuration: .init(models: ["primary"], breaker: .init(failureThreshold: 1)),
            logger: Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() }),
            limiter: limiter
        )
        let holder = Task { try await client.complete(self.request) }
        var calls = provider.calls.makeAsyncIterator()
        _ = await calls.next()
        let started = ContinuousClock.now
        let error = await #expect(throws: ArcanosError.self) { try await client.complete(self.request) }
        #expect(started.duration(to: .now) < .seconds(1))
        let failure = try #require(error?.underlying as? LLMFailure)
        #expect(failure.kind == .overloaded)
        #expect(failure.retryAfter != nil)
        #expect(provider.requests.count == 1)
        let report = client.report()
        #expect(report.admission?.shed == 1)
        #expect(report.admission?.inFlight == 1)
        #expect(report.models.first?.breaker == .closed)
        #expect(report.models.first?.overloaded == 1)
        holder.cancel()
        _ = try? await holder.value
        #expect(client.report().admission?.inFlight == 0)
    }

    /// One attempt per call; the breaker opens at the first failure for 100 ms, without jitter.
    func makeBriefBreakerClient(_ provider: ScriptedLLMProvider, prober: ModelProber? = nil) -> ResilientLLMClient {
        ResilientLLMClient(
            provider: provider,
            configuration: .init(
                models: ["primary"],
                retry: .init(maxAttempts: 1),
                breaker: .init(failureThreshold: 1, openDuration: .milliseconds(100), jitter: 0)
            ),
            logger: Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() }),
            prober: prober
        )
    }

    @Test("issue 11: while open, the client probes the model itself and closes on its return")
    func theProberClosesTheBreakerWithoutUserTraffic() async throws {
        let provider = ScriptedLLMProvider([.fail(LLMFailure(.serverError, statusCode: 500))])
        let prober = ModelProber()
        let client = self.makeBriefBreakerClient(provider, prober: prober)
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await prober.run() }
            var calls = provider.calls.makeAsyncIterator()
            await #expect(throws: ArcanosError.self) { try await client.complete(self.request) }
            _ = await calls.next()
            #expect(client.report().models.first?.breaker == .open)
            // No user call from here on: the next request the model sees is the prober's.
            let probe = try #require(await calls.next())
            #expect(probe.maxTokens == 1)
            #expect(probe.model == "primary")
            while client.availability() != .available { await Task.yield() }
            #expect(client.report().models.first?.breaker == .closed)
            #expect(provider.requests.count == 2)
            group.cancelAll()
        }
    }

    @Test(
        "issue 11: a failed probe re-opens for longer, even overloaded; a rejected one closes",
        arguments: [
            (LLMFailure.Kind.serverError, CircuitBreakerStateMachine<ContinuousClock.Instant>.Phase.open),
            (.overloaded, .open), (.rejected, .closed),
        ]
    )
    func aProbesOutcomeDecidesTheBreaker(
        kind: LLMFailure.Kind,
        phase: CircuitBreakerStateMachine<ContinuousClock.Instant>.Phase
    ) async throws {
        let provider = ScriptedLLMProvider([
            .fail(LLMFailure(.serverError, statusCode: 500)), .fail(LLMFailure(kind, statusCode: 400)),
        ])
        let client = self.makeBriefBreakerClient(provider)
        await #expect(throws: ArcanosError.self) { try await client.complete(self.request) }
        let due = try #require(client.nextProbe())
        while ContinuousClock.now < due { try await Task.sleep(until: due) }
        await client.probeDueModels()
        let report = try #require(client.report().models.first)
        #expect(report.breaker == phase)
        #expect(provider.requests.last?.maxTokens == 1)
        if phase == .open {
            #expect(report.breakerOpenings == 2)
        }
    }
}
