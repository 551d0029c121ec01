import ArcanosCore
import ArcanosTesting
import Foundation
import Logging
import Testing

@Suite struct AskServiceTests {
    func makeService(_ provider: ScriptedLLMProvider, ttl: Duration = .seconds(60)) -> AskService {
        let client = ResilientLLMClient(
            provider: provider,
            configuration: .init(models: ["m"], retry: .init(maxAttempts: 1)),
            logger: Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() })
        )
        return AskService(client: client, configuration: .init(cacheCapacity: 8, cacheTimeToLive: ttl))
    }

    @Test func servesTheLastGoodAnswerToTheSamePromptFromTheCache() async throws {
        let service = self.makeService(ScriptedLLMProvider([.answer("forty-two")]))
        _ = try await service.answer(AskInput(prompt: "meaning of life"))
        let degraded = service.degradedAnswer(prompt: "  meaning of life\n", failure: LLMFailure(.timeout), now: Date())
        #expect(degraded.fallbackMode == .cache)
        #expect(degraded.data?.result == "forty-two")
        #expect(degraded.data?.mock == false)
        #expect(degraded.reason == "timeout")
    }

    @Test func answersALabelledMockWhenNothingIsCached() throws {
        let service = self.makeService(ScriptedLLMProvider())
        let degraded = service.degradedAnswer(prompt: "new prompt", failure: LLMFailure(.serverError), now: Date())
        #expect(degraded.fallbackMode == .mock)
        #expect(degraded.data?.mock == true)
        #expect(degraded.data?.result.contains("not a model answer") == true)
    }

    @Test func answersMinimalWithoutAPrompt() throws {
        let service = self.makeService(ScriptedLLMProvider())
        let degraded = service.degradedAnswer(prompt: nil, failure: LLMFailure(.circuitOpen), now: Date())
        #expect(degraded.fallbackMode == .minimal)
        #expect(degraded.data == nil)
    }

    @Test func expiredAnswersAreNotServed() async throws {
        let service = self.makeService(ScriptedLLMProvider([.answer("old")]), ttl: .seconds(10))
        _ = try await service.answer(AskInput(prompt: "p"))
        let later = ContinuousClock.now + .seconds(11)
        let degraded = service.degradedAnswer(prompt: "p", failure: LLMFailure(.timeout), now: Date(), instant: later)
        #expect(degraded.fallbackMode == .mock)
    }

    @Test func countsEveryFallbackByModeAndReason() async throws {
        let service = self.makeService(ScriptedLLMProvider([.answer("a")]))
        _ = try await service.answer(AskInput(prompt: "p"))
        _ = service.degradedAnswer(prompt: "p", failure: LLMFailure(.timeout), now: Date())
        _ = service.degradedAnswer(prompt: "q", failure: LLMFailure(.timeout), now: Date())
        _ = service.degradedAnswer(prompt: nil, failure: LLMFailure(.circuitOpen), now: Date())
        let stats = service.fallbackStats()
        #expect(stats.total == 3)
        #expect(stats.byMode == ["cache": 1, "mock": 1, "minimal": 1])
        #expect(stats.byReason == ["timeout": 2, "circuit_open": 1])
        #expect(stats.degradedSince != nil)
    }

    // The last: 5,001 characters of two scalars each. Lengths count scalars, as the OpenAPI document's
    // maxLength does (issue 12).
    @Test(arguments: ["", "   \n", String(repeating: "x", count: 10_001), String(repeating: "e\u{301}", count: 5001)])
    func rejectsInvalidPrompts(prompt: String) {
        #expect(throws: ArcanosError.self) { try AskInput(prompt: prompt) }
    }

    @Test func acceptsAPromptOfExactlyTheMaximumLength() throws {
        _ = try AskInput(prompt: String(repeating: "x", count: 10_000))
    }
}

@Suite struct ResponseCacheTests {
    let start = ContinuousClock.now

    @Test func evictsTheLeastRecentlyUsedEntry() {
        var cache = ResponseCache<String, ContinuousClock.Instant>(capacity: 2, timeToLive: .seconds(60))
        cache.store("1", for: "a", now: self.start)
        cache.store("2", for: "b", now: self.start)
        _ = cache.value(for: "a", now: self.start)
        cache.store("3", for: "c", now: self.start)
        #expect(cache.value(for: "b", now: self.start) == nil)
        #expect(cache.value(for: "a", now: self.start)?.value == "1")
        #expect(cache.value(for: "c", now: self.start)?.value == "3")
        #expect(cache.count == 2)
    }

    @Test func stayingWithinCapacityUnderManyInsertions() {
        var cache = ResponseCache<Int, ContinuousClock.Instant>(capacity: 100, timeToLive: .seconds(60))
        for index in 0..<10_000 { cache.store(index, for: "k\(index)", now: self.start) }
        #expect(cache.count == 100)
        #expect(cache.value(for: "k9999", now: self.start)?.value == 9999)
        #expect(cache.value(for: "k9899", now: self.start) == nil)
    }

    @Test func expiresEntriesAfterTheirTimeToLive() {
        var cache = ResponseCache<String, ContinuousClock.Instant>(capacity: 2, timeToLive: .seconds(10))
        cache.store("v", for: "k", now: self.start)
        #expect(cache.value(for: "k", now: self.start + .seconds(10))?.value == "v")
        #expect(cache.value(for: "k", now: self.start + .seconds(11)) == nil)
    }
}
