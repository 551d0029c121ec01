import ArcanosCore
import AsyncHTTPClient
import Foundation
import Logging
import NIOCore
import NIOFoundationCompat
import NIOHTTP1

/// `LLMProvider` over the OpenAI chat-completions API, for any compatible server (OpenAI, Azure, vLLM,
/// llama.cpp, Ollama, LiteLLM). Every failure leaves here classified as an `LLMFailure`.
public struct OpenAIChatProvider: LLMProvider {
    public struct Configuration: Sendable {
        /// Base URL up to and including the version segment (`OPENAI_BASE_URL`).
        public var baseURL: String
        /// Sent as `Authorization: Bearer`; never logged.
        public var apiKey: String
        /// Largest response body read before giving up on it as invalid.
        public var maximumResponseBytes: Int

        public init(baseURL: String = "https://api.openai.com/v1", apiKey: String, maximumResponseBytes: Int = 4 << 20)
        {
            self.baseURL = baseURL
            self.apiKey = apiKey
            self.maximumResponseBytes = maximumResponseBytes
        }
    }

    private let httpClient: HTTPClient
    private let configuration: Configuration
    private let endpoint: String

    /// The HTTP client settings for model calls: no redirects; a pool of `maximumConnections` kept-alive
    /// connections per host, sized at least to the admission limit so that no admitted call waits for one;
    /// HTTP/2 when a TLS upstream offers it (ALPN), HTTP/1.1 otherwise.
    public static func httpClientConfiguration(
        maximumConnections: Int,
        connectTimeout: TimeAmount = .seconds(5)
    ) -> HTTPClient.Configuration {
        var configuration = HTTPClient.Configuration(
            redirectConfiguration: .disallow,
            timeout: .init(connect: connectTimeout),
            connectionPool: .init(
                idleTimeout: .seconds(60),
                concurrentHTTP1ConnectionsPerHostSoftLimit: maximumConnections
            )
        )
        configuration.httpVersion = .automatic
        return configuration
    }

    public init(httpClient: HTTPClient, configuration: Configuration) {
        self.httpClient = httpClient
        self.configuration = configuration
        var base = configuration.baseURL
        while base.hasSuffix("/") { base.removeLast() }
        self.endpoint = base + "/chat/completions"
    }

    public func complete(_ request: LLMRequest, timeout: Duration) async throws -> LLMCompletion {
        let response = try await self.post(Self.body(of: request), timeout: timeout)
        let body = try await self.collect(response)
        let status = Int(response.status.code)
        do {
            let wire = try Self.decoder.decode(WireResponse.self, from: body)
            guard let content = wire.choices.first?.message.content else {
                throw LLMFailure(.invalidResponse, statusCode: status, detail: "no message content in choices")
            }
            return LLMCompletion(
                id: wire.id ?? "",
                model: wire.model ?? request.model,
                created: wire.created.map { Date(timeIntervalSince1970: TimeInterval($0)) } ?? Date(),
                content: content,
                usage: wire.usage.map {
                    LLMUsage(
                        promptTokens: $0.prompt_tokens ?? 0,
                        completionTokens: $0.completion_tokens ?? 0,
                        totalTokens: $0.total_tokens ?? 0
                    )
                }
            )
        } catch let failure as LLMFailure {
            throw failure
        } catch {
            throw LLMFailure(.invalidResponse, statusCode: status, detail: "undecodable completion body")
        }
    }

    public func chatCompletion(body: [UInt8], timeout: Duration) async throws -> [UInt8] {
        Array(try await self.collect(try await self.post(body, timeout: timeout)).readableBytesView)
    }

    public func chatCompletionStream(body: [UInt8], timeout: Duration) async throws -> any ByteChunkSource {
        ResponseBodySource(try await self.post(body, timeout: timeout, accept: "text/event-stream").body)
    }

    /// Sends `body` to the chat-completions endpoint and returns the 2xx answer with its body unread; any
    /// other status, or a transport error, leaves as an `LLMFailure`. `timeout` bounds the wait for the head.
    private func post(
        _ body: [UInt8],
        timeout: Duration,
        accept: String = "application/json"
    ) async throws -> HTTPClientResponse {
        var httpRequest = HTTPClientRequest(url: self.endpoint)
        httpRequest.method = .POST
        httpRequest.headers.add(name: "Content-Type", value: "application/json")
        httpRequest.headers.add(name: "Accept", value: accept)
        httpRequest.headers.add(name: "Authorization", value: "Bearer \(self.configuration.apiKey)")
        httpRequest.body = .bytes(ByteBuffer(bytes: body))
        let response: HTTPClientResponse
        do {
            response = try await self.httpClient.execute(
                httpRequest,
                deadline: .now() + .nanoseconds(max(timeout.nanoseconds, 1))
            )
        } catch {
            throw Self.classify(error)
        }
        let status = Int(response.status.code)
        guard (200..<300).contains(status) else {
            // Read (and drop) the error body, so that the connection can be kept.
            _ = try? await response.body.collect(upTo: 64 << 10)
            let retryAfter = response.headers.first(name: "retry-after").flatMap(Self.parseRetryAfter)
            let kind: LLMFailure.Kind =
                switch status {
                case 429: .rateLimited
                case 408: .timeout
                case 500...: .serverError
                default: .rejected
                }
            throw LLMFailure(kind, statusCode: status, retryAfter: retryAfter, detail: "upstream answered \(status)")
        }
        return response
    }

    private func collect(_ response: HTTPClientResponse) async throws -> ByteBuffer {
        do {
            return try await response.body.collect(upTo: self.configuration.maximumResponseBytes)
        } catch {
            throw Self.classify(error)
        }
    }

    /// The chat-completions request body: `{model, messages, response_format?, max_tokens?, temperature?}`.
    static func body(of request: LLMRequest) -> [UInt8] {
        var writer = JSONWriter()
        writer.object { body in
            body.key("model")
            body.string(request.model)
            body.key("messages")
            body.array { messages in
                for message in request.messages {
                    messages.object { fields in
                        fields.key("role")
                        fields.string(message.role.rawValue)
                        fields.key("content")
                        fields.string(message.content)
                    }
                }
            }
            if case .jsonSchema(let name, let schema, let strict) = request.responseFormat {
                body.key("response_format")
                body.object { format in
                    format.key("type")
                    format.string("json_schema")
                    format.key("json_schema")
                    format.object { fields in
                        fields.key("name")
                        fields.string(name)
                        fields.key("schema")
                        fields.json(schema)
                        fields.key("strict")
                        fields.bool(strict)
                    }
                }
            }
            if let maxTokens = request.maxTokens {
                body.key("max_tokens")
                body.number(maxTokens)
            }
            if let temperature = request.temperature {
                body.key("temperature")
                body.number(temperature)
            }
        }
        return writer.bytes
    }

    private static let decoder = JSONDecoder()

    /// Maps transport errors to failure classes; a cancelled caller stays a `CancellationError`. A wait for
    /// a pooled connection is local saturation (`overloaded`), never a failure of the upstream.
    static func classify(_ error: any Error) -> any Error {
        if error is CancellationError || Task.isCancelled { return CancellationError() }
        if let error = error as? HTTPClientError {
            switch error {
            case .cancelled: return CancellationError()
            case .getConnectionFromPoolTimeout:
                return LLMFailure(.overloaded, retryAfter: .seconds(1), detail: "\(error)")
            case .deadlineExceeded, .readTimeout, .writeTimeout:
                return LLMFailure(.timeout, detail: "\(error)")
            default:
                return LLMFailure(.connection, detail: "\(error)")
            }
        }
        if let error = error as? NIOTooManyBytesError {
            return LLMFailure(.invalidResponse, detail: "\(error)")
        }
        return LLMFailure(.connection, detail: String(describing: type(of: error)))
    }

    /// `Retry-After` as delta-seconds or an HTTP date.
    static func parseRetryAfter(_ value: String) -> Duration? {
        let trimmed = value.trimmingWhitespace()
        if let seconds = Double(trimmed), seconds >= 0, seconds.isFinite {
            return .milliseconds(Int64(seconds * 1000))
        }
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "GMT")
        formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss zzz"
        guard let date = formatter.date(from: trimmed) else { return nil }
        return .milliseconds(Int64(max(date.timeIntervalSinceNow, 0) * 1000))
    }
}

// swift-format-ignore: AlwaysUseLowerCamelCase
private struct WireResponse: Decodable {
    struct Choice: Decodable {
        struct Message: Decodable {
            var content: String?
        }
        var message: Message
    }
    struct Usage: Decodable {
        var prompt_tokens: Int?
        var completion_tokens: Int?
        var total_tokens: Int?
    }

    var id: String?
    var model: String?
    var created: Int?
    var choices: [Choice]
    var usage: Usage?
}

/// A streamed answer's body, read as it arrives (AsyncHTTPClient asks for more only when it is read).
/// Dropping it cancels the upstream request.
private final class ResponseBodySource: ByteChunkSource, @unchecked Sendable {
    // @unchecked: `ByteChunkSource` is read by one task at a time.
    private var iterator: HTTPClientResponse.Body.AsyncIterator

    init(_ body: HTTPClientResponse.Body) {
        self.iterator = body.makeAsyncIterator()
    }

    func next() async throws -> [UInt8]? {
        do {
            guard let buffer = try await self.iterator.next() else { return nil }
            return Array(buffer.readableBytesView)
        } catch {
            throw OpenAIChatProvider.classify(error)
        }
    }
}
