import Foundation

/// Something that completes a chat: the OpenAI-compatible HTTP client in production, a script in tests.
public protocol LLMProvider: Sendable {
    /// Completes one request in at most `timeout`. Throws `LLMFailure` for anything the provider did wrong,
    /// `CancellationError` when the caller went away.
    func complete(_ request: LLMRequest, timeout: Duration) async throws -> LLMCompletion

    /// Sends a chat-completions body (OpenAI's wire format, `ChatCompletionRequest.body(for:)`) and returns
    /// the 2xx answer's body as it came. Throws like `complete`.
    func chatCompletion(body: [UInt8], timeout: Duration) async throws -> [UInt8]

    /// Sends a streaming chat-completions body and returns once the upstream answered 2xx, with its body to
    /// read as it arrives. `timeout` bounds the wait for the answer's head only.
    func chatCompletionStream(body: [UInt8], timeout: Duration) async throws -> any ByteChunkSource
}

extension LLMProvider {
    public func chatCompletion(body: [UInt8], timeout: Duration) async throws -> [UInt8] {
        throw LLMFailure(.rejected, detail: "this provider does not pass chat completions through")
    }

    public func chatCompletionStream(body: [UInt8], timeout: Duration) async throws -> any ByteChunkSource {
        throw LLMFailure(.rejected, detail: "this provider does not pass chat completions through")
    }
}

/// A response body read as it arrives, with the reader's back-pressure: the next bytes are not asked for
/// before `next()` is called. Read by one task at a time; throws `LLMFailure` or `CancellationError`.
public protocol ByteChunkSource: AnyObject, Sendable {
    /// The next bytes, or nil at the end of the body.
    func next() async throws -> [UInt8]?
}

public struct LLMMessage: Sendable, Hashable, Codable {
    public enum Role: String, Sendable, Codable { case system, user, assistant }
    public var role: Role
    public var content: String

    public init(role: Role, content: String) {
        self.role = role
        self.content = content
    }

    public static func system(_ content: String) -> Self { .init(role: .system, content: content) }
    public static func user(_ content: String) -> Self { .init(role: .user, content: content) }
}

/// `response_format` of the chat-completions API. A strict JSON schema makes the model answer in that shape.
public enum LLMResponseFormat: Sendable, Hashable {
    case text
    case jsonSchema(name: String, schema: JSONValue, strict: Bool)
}

public struct LLMRequest: Sendable, Hashable {
    /// Set by the client for each model of the fallback chain; callers leave it empty.
    public var model: String
    public var messages: [LLMMessage]
    public var responseFormat: LLMResponseFormat
    public var maxTokens: Int?
    public var temperature: Double?

    public init(
        model: String = "",
        messages: [LLMMessage],
        responseFormat: LLMResponseFormat = .text,
        maxTokens: Int? = nil,
        temperature: Double? = nil
    ) {
        self.model = model
        self.messages = messages
        self.responseFormat = responseFormat
        self.maxTokens = maxTokens
        self.temperature = temperature
    }
}

public struct LLMUsage: Sendable, Hashable, Codable {
    public var promptTokens: Int
    public var completionTokens: Int
    public var totalTokens: Int

    public init(promptTokens: Int, completionTokens: Int, totalTokens: Int) {
        self.promptTokens = promptTokens
        self.completionTokens = completionTokens
        self.totalTokens = totalTokens
    }
}

public struct LLMCompletion: Sendable, Hashable {
    public var id: String
    /// The model that answered, as the provider reports it.
    public var model: String
    public var created: Date
    public var content: String
    public var usage: LLMUsage?

    public init(id: String, model: String, created: Date, content: String, usage: LLMUsage? = nil) {
        self.id = id
        self.model = model
        self.created = created
        self.content = content
        self.usage = usage
    }
}
