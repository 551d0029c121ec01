import Logging

/// A chat completion answered whole, in OpenAI's wire format: the upstream's body as it came.
public struct ChatCompletionAnswer: Sendable {
    public var body: [UInt8]
    /// The model of the chain that answered.
    public var model: String
    public var usage: LLMUsage?
}

/// Chat completions passed through in OpenAI's wire format (`/v1/chat/completions`), through the same
/// chain, deadline, retries, breakers and admission limit as every other call.
extension ResilientLLMClient {
    /// Answers `request` whole with the first model of `chain` that answers. Throws like `complete`.
    public func chatCompletion(_ request: ChatCompletionRequest, chain: [String]) async throws -> ChatCompletionAnswer {
        let (model, answer) = try await self.run(chain: chain) { provider, model, deadline, _ in
            let body = try await provider.chatCompletion(
                body: request.body(for: model),
                timeout: ContinuousClock.now.duration(to: deadline)
            )
            return ChatCompletionAnswer(body: body, model: model, usage: try ChatCompletionChunk.completionUsage(body))
        }
        if let usage = answer.usage { self.metrics.recordTokens(model: model, usage: usage) }
        return answer
    }

    /// Opens a stream of `request` with the first model of `chain` whose first token comes within
    /// `firstTokenTimeout` (and the call's deadline): before the first token, a failure or a stall falls
    /// back to the next model; after it, the stream is the caller's to read, and its admission slot is held
    /// until it ends. A failure after the first token counts on that model's breaker.
    public func chatCompletionStream(
        _ request: ChatCompletionRequest,
        chain: [String],
        firstTokenTimeout: Duration
    ) async throws -> ChatCompletionStream {
        let start = ContinuousClock.now
        let (model, (stream, permit)) = try await self.run(chain: chain) { provider, model, deadline, permit in
            let source = try await provider.chatCompletionStream(
                body: request.body(for: model),
                timeout: ContinuousClock.now.duration(to: deadline)
            )
            let stream = ChatCompletionStream(
                model: model,
                source: source,
                idleTimeout: self.configuration.callTimeout
            )
            try await stream.readFirstToken(until: min(deadline, ContinuousClock.now + firstTokenTimeout))
            return (stream, permit.handOver())
        }
        self.metrics.recordTimeToFirstToken(model: model, start.duration(to: .now))
        stream.onEnd { end in
            permit.release()
            switch end {
            case .completed(let usage):
                if let usage { self.metrics.recordTokens(model: model, usage: usage) }
            case .failed(let failure):
                self.record(model: model, outcome: .failure(failure))
                self.logger.warning(
                    "model stream failed after its first token",
                    metadata: ["llm.model": "\(model)", "llm.failure": "\(failure.kind.rawValue)"]
                )
            case .cancelled:
                break
            }
        }
        return stream
    }
}
