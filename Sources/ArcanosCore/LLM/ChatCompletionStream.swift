import Foundation

/// A chat-completions stream that has produced its first token: its events are handed out one at a time
/// as the upstream sends them (never gathered whole), so the writer's pace is the upstream's. It ends
/// after `[DONE]`, or by throwing an `LLMFailure` (the upstream stopped, stalled, or sent an error event),
/// which the caller must turn into an error event: a stream that just stops reads as a normal end.
public final class ChatCompletionStream: @unchecked Sendable {
    // @unchecked: read by one task at a time, first by the model client until the first token, then by the
    // response writer; nothing is shared between them concurrently.

    public enum End: Sendable {
        case completed(LLMUsage?)
        case failed(LLMFailure)
        /// The reader went away (the client disconnected).
        case cancelled
    }

    /// The model of the chain that is answering.
    public let model: String
    /// Dropped when the stream ends, which cancels the upstream request if it is still running.
    private var source: (any ByteChunkSource)?
    /// Longest wait for the upstream's next bytes once the stream runs.
    private let idleTimeout: Duration
    private var parser = ServerSentEventParser()
    private var parsed: [ServerSentEventParser.Event] = []
    private var parsedIndex = 0
    /// Events up to and including the first token, handed out first.
    private var held: [[UInt8]] = []
    private var heldIndex = 0
    private var usage: LLMUsage?
    private var sawDone = false
    private var onEnd: (@Sendable (End) -> Void)?

    init(model: String, source: any ByteChunkSource, idleTimeout: Duration) {
        self.model = model
        self.source = source
        self.idleTimeout = idleTimeout
    }

    /// Called once, when the stream ends in any way.
    func onEnd(_ body: @escaping @Sendable (End) -> Void) {
        self.onEnd = body
    }

    /// Reads until the first token (content, a tool call, a finish reason or usage) by `deadline`; the events
    /// before it are kept for `next()`. Throws `LLMFailure(.timeout)` when the deadline comes first.
    func readFirstToken(until deadline: ContinuousClock.Instant) async throws {
        while true {
            let left = ContinuousClock.now.duration(to: deadline)
            guard left > .zero,
                let event = try await self.nextEvent(
                    timeout: left,
                    onTimeout: LLMFailure(.timeout, detail: "no first token before its deadline", skipsRetries: true)
                )
            else {
                if left <= .zero {
                    throw LLMFailure(.timeout, detail: "no first token before its deadline", skipsRetries: true)
                }
                throw LLMFailure(.connection, detail: "the stream ended before its first token")
            }
            let chunk = try ChatCompletionChunk(event.data)
            self.absorb(chunk)
            self.held.append(event.raw)
            if chunk.isDone || chunk.hasToken { return }
        }
    }

    /// The next event's bytes, to be written as they are; nil once `[DONE]` was handed out.
    public func next() async throws -> [UInt8]? {
        if self.heldIndex < self.held.count {
            defer { self.heldIndex += 1 }
            return self.held[self.heldIndex]
        }
        if self.sawDone {
            self.end(.completed(self.usage))
            return nil
        }
        do {
            guard
                let event = try await self.nextEvent(
                    timeout: self.idleTimeout,
                    onTimeout: LLMFailure(.timeout, detail: "the stream stalled")
                )
            else {
                throw LLMFailure(.connection, detail: "the stream ended without [DONE]")
            }
            self.absorb(try ChatCompletionChunk(event.data))
            return event.raw
        } catch let failure as LLMFailure {
            self.end(.failed(failure))
            throw failure
        } catch {
            self.end(.cancelled)
            throw error
        }
    }

    /// The reader is gone: the upstream call is dropped (cancelled) with this stream.
    public func cancel() {
        self.end(.cancelled)
    }

    // A stream dropped unread (its response was never written) still gives its admission slot back.
    deinit {
        self.end(.cancelled)
    }

    private func end(_ end: End) {
        let onEnd = self.onEnd
        self.onEnd = nil
        self.source = nil
        onEnd?(end)
    }

    private func absorb(_ chunk: ChatCompletionChunk) {
        if chunk.isDone { self.sawDone = true }
        if let usage = chunk.usage { self.usage = usage }
    }

    private func nextEvent(timeout: Duration, onTimeout: LLMFailure) async throws -> ServerSentEventParser.Event? {
        while self.parsedIndex == self.parsed.count {
            self.parsed.removeAll(keepingCapacity: true)
            self.parsedIndex = 0
            guard let source = self.source else { throw CancellationError() }
            let bytes = try await withThrowingTaskGroup(of: [UInt8]?.self) { group in
                group.addTask { try await source.next() }
                group.addTask {
                    try await Task.sleep(for: timeout)
                    throw onTimeout
                }
                defer { group.cancelAll() }
                return try await group.next()!
            }
            guard let bytes else { return nil }
            self.parsed = self.parser.append(bytes)
        }
        defer { self.parsedIndex += 1 }
        return self.parsed[self.parsedIndex]
    }
}

/// What the model client reads of a chat-completions answer or stream event; the rest is passed on unread.
struct ChatCompletionChunk {
    var isDone = false
    var hasToken = false
    var usage: LLMUsage?

    /// One stream event's data. Throws `invalid_response` for data that is not a chunk, and `server_error`
    /// for an upstream error event (its text is not passed on: it may quote the upstream).
    init(_ data: [UInt8]) throws(LLMFailure) {
        if data.isEmpty { return }  // a comment or keep-alive
        if data == Array("[DONE]".utf8) {
            self.isDone = true
            return
        }
        guard let wire = try? Self.decoder.decode(Wire.self, from: Data(data)) else {
            throw LLMFailure(.invalidResponse, detail: "a stream event that is not a chat-completion chunk")
        }
        if wire.error != nil {
            throw LLMFailure(.serverError, detail: "the upstream sent an error event")
        }
        self.usage = wire.usage?.usage
        self.hasToken =
            self.usage != nil
            || (wire.choices ?? []).contains { choice in
                choice.finish_reason != nil || !(choice.delta?.content ?? "").isEmpty
                    || !(choice.delta?.tool_calls ?? []).isEmpty || !(choice.delta?.refusal ?? "").isEmpty
            }
    }

    /// The usage of a whole (non-streamed) answer; throws `invalid_response` unless it has choices.
    static func completionUsage(_ body: [UInt8]) throws(LLMFailure) -> LLMUsage? {
        guard let wire = try? Self.decoder.decode(Wire.self, from: Data(body)), let choices = wire.choices,
            !choices.isEmpty
        else {
            throw LLMFailure(.invalidResponse, detail: "a 2xx body that is not a chat completion")
        }
        return wire.usage?.usage
    }

    private static let decoder = JSONDecoder()

    /// Decodes anything, keeps nothing: presence is all that is asked.
    private struct Present: Decodable {
        init(from decoder: any Decoder) throws {}
    }

    // swift-format-ignore: AlwaysUseLowerCamelCase
    private struct Wire: Decodable {
        struct Choice: Decodable {
            struct Delta: Decodable {
                var content: String?
                var refusal: String?
                var tool_calls: [Present]?
            }
            var delta: Delta?
            var finish_reason: String?
        }
        struct Usage: Decodable {
            var prompt_tokens: Int?
            var completion_tokens: Int?
            var total_tokens: Int?

            var usage: LLMUsage {
                LLMUsage(
                    promptTokens: self.prompt_tokens ?? 0,
                    completionTokens: self.completion_tokens ?? 0,
                    totalTokens: self.total_tokens ?? 0
                )
            }
        }
        var choices: [Choice]?
        var usage: Usage?
        var error: Present?
    }
}
