import Foundation
import Synchronization

/// Answers prompts through the model client, remembers good answers, and builds the degraded answer
/// when the model cannot be used. The one place that decides what a client of `/ask` sees.
public final class AskService: Sendable {
    public struct Configuration: Sendable, Hashable {
        /// Answers kept for degraded mode (`FALLBACK_CACHE_MAX_ENTRIES`).
        public var cacheCapacity: Int
        /// How long a kept answer may be served (`FALLBACK_CACHE_TTL_MS`).
        public var cacheTimeToLive: Duration
        /// `Retry-After` of degraded answers whose cause does not say when to come back.
        public var defaultRetryAfter: Duration
        public var systemPrompt: String

        public init(
            cacheCapacity: Int = 512,
            cacheTimeToLive: Duration = .seconds(900),
            defaultRetryAfter: Duration = .seconds(5),
            systemPrompt: String = "You are Arcanos, a concise and helpful assistant."
        ) {
            self.cacheCapacity = cacheCapacity
            self.cacheTimeToLive = cacheTimeToLive
            self.defaultRetryAfter = defaultRetryAfter
            self.systemPrompt = systemPrompt
        }
    }

    /// Text of the `mock` fallback: says plainly that it is not a model answer.
    public static let mockText =
        "[Arcanos degraded mode] The AI model is temporarily unavailable, so this is an automated placeholder, "
        + "not a model answer. Please retry shortly."

    public static let module = "arcanos-core"

    public let configuration: Configuration
    public let client: ResilientLLMClient
    private let cache: Mutex<ResponseCache<AskAnswer, ContinuousClock.Instant>>
    private let stats = Mutex(FallbackStats())
    private let metrics: ArcanosMetrics

    public init(
        client: ResilientLLMClient,
        configuration: Configuration = .init(),
        metrics: ArcanosMetrics = .disabled
    ) {
        self.client = client
        self.configuration = configuration
        self.metrics = metrics
        self.cache = Mutex(.init(capacity: configuration.cacheCapacity, timeToLive: configuration.cacheTimeToLive))
    }

    /// Asks the model. Throws what `ResilientLLMClient.complete` throws.
    public func answer(_ input: AskInput) async throws -> AskAnswer {
        let completion = try await self.client.complete(
            LLMRequest(messages: [.system(self.configuration.systemPrompt), .user(input.prompt)])
        )
        let answer = AskAnswer(
            result: completion.content,
            activeModel: completion.model,
            module: Self.module,
            meta: .init(id: completion.id, created: completion.created, tokens: completion.usage)
        )
        let key = Self.cacheKey(input.prompt)
        self.cache.withLock { $0.store(answer, for: key, now: .now) }
        self.stats.withLock { $0.degradedSince = nil }
        return answer
    }

    /// The degraded answer for `prompt`, and a record of it.
    /// - Parameters:
    ///   - prompt: nil when the request carried none we could read; then no cache and no mock.
    ///   - failure: why the model was not used.
    public func degradedAnswer(
        prompt: String?,
        failure: LLMFailure,
        now: Date,
        instant: ContinuousClock.Instant = .now
    ) -> DegradedAnswer {
        let cached = prompt.flatMap { prompt in
            self.cache.withLock { $0.value(for: Self.cacheKey(prompt), now: instant) }
        }
        let mode: FallbackMode
        let data: DegradedAnswer.Payload?
        let message: String
        if let cached {
            mode = .cache
            data = .init(
                result: cached.value.result,
                activeModel: cached.value.activeModel,
                cachedAt: now.addingTimeInterval(-cached.storedAt.duration(to: instant).seconds),
                mock: false
            )
            message = "The AI model is unavailable; this is the last good answer to the same prompt."
        } else if prompt != nil {
            mode = .mock
            data = .init(result: Self.mockText, activeModel: nil, cachedAt: nil, mock: true)
            message = "The AI model is unavailable; this is a placeholder, not a model answer."
        } else {
            mode = .minimal
            data = nil
            message = "The AI model is unavailable; please retry shortly."
        }
        let reason = failure.kind.rawValue
        self.stats.withLock { stats in
            stats.total += 1
            stats.byMode[mode.rawValue, default: 0] += 1
            stats.byReason[reason, default: 0] += 1
            stats.lastAt = now
            stats.lastReason = reason
            if stats.degradedSince == nil { stats.degradedSince = now }
        }
        self.metrics.recordDegradedAnswer(mode: mode, reason: reason)
        let retryAfter = failure.retryAfter.map { max($0, .seconds(1)) } ?? self.configuration.defaultRetryAfter
        return DegradedAnswer(
            message: message,
            data: data,
            fallbackMode: mode,
            reason: reason,
            timestamp: now,
            retryAfter: retryAfter
        )
    }

    public func fallbackStats() -> FallbackStats {
        self.stats.withLock { $0 }
    }

    private static func cacheKey(_ prompt: String) -> String {
        prompt.trimmingWhitespace()
    }
}

/// A validated prompt.
public struct AskInput: Sendable, Hashable {
    public static let maximumPromptLength = 10_000

    public var prompt: String
    public var sessionId: String?

    /// Validates the prompt: 1…10000 characters, not only whitespace. Characters are Unicode scalars, as
    /// JSON Schema's `maxLength` counts them (the OpenAPI document states these limits).
    public init(prompt: String, sessionId: String? = nil) throws {
        guard !prompt.isBlank else {
            throw ArcanosError.invalidRequest("prompt must not be empty")
        }
        guard prompt.unicodeScalars.count <= Self.maximumPromptLength else {
            throw ArcanosError.invalidRequest("prompt must be at most \(Self.maximumPromptLength) characters")
        }
        if let sessionId, sessionId.unicodeScalars.count > 200 {
            throw ArcanosError.invalidRequest("sessionId must be at most 200 characters")
        }
        self.prompt = prompt
        self.sessionId = sessionId
    }
}

/// A live model answer: the 200 body of `/ask`.
public struct AskAnswer: Sendable, Hashable {
    public struct Meta: Sendable, Hashable {
        public var id: String
        public var created: Date
        public var tokens: LLMUsage?

        public init(id: String, created: Date, tokens: LLMUsage? = nil) {
            self.id = id
            self.created = created
            self.tokens = tokens
        }
    }

    public var result: String
    public var activeModel: String
    public var module: String
    public var meta: Meta

    public init(result: String, activeModel: String, module: String, meta: Meta) {
        self.result = result
        self.activeModel = activeModel
        self.module = module
        self.meta = meta
    }

    /// `{result, activeModel, module, meta: {id, created, tokens?}}`.
    public var json: [UInt8] {
        var writer = JSONWriter()
        writer.object { body in
            body.key("result")
            body.string(self.result)
            body.key("activeModel")
            body.string(self.activeModel)
            body.key("module")
            body.string(self.module)
            body.key("meta")
            body.object { meta in
                meta.key("id")
                meta.string(self.meta.id)
                meta.key("created")
                meta.date(self.meta.created)
                if let tokens = self.meta.tokens {
                    meta.key("tokens")
                    meta.object { usage in
                        usage.key("promptTokens")
                        usage.number(tokens.promptTokens)
                        usage.key("completionTokens")
                        usage.number(tokens.completionTokens)
                        usage.key("totalTokens")
                        usage.number(tokens.totalTokens)
                    }
                }
            }
        }
        return writer.bytes
    }
}

extension LLMFailure {
    /// The failure behind an error thrown by the model client; `nil` for anything else.
    public init?(from error: any Error) {
        if let failure = error as? LLMFailure {
            self = failure
        } else if let error = error as? ArcanosError, error.code == .llmUnavailable || error.code == .circuitOpen {
            self =
                (error.underlying as? LLMFailure) ?? LLMFailure(error.code == .circuitOpen ? .circuitOpen : .connection)
            if self.retryAfter == nil { self.retryAfter = error.retryAfter }
        } else {
            return nil
        }
    }
}
