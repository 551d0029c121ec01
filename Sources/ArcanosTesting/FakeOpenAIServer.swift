import ArcanosCore
import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import NIOFoundationCompat
import ServiceLifecycle
import Synchronization

/// A real OpenAI-compatible HTTP server on loopback whose behaviour can be switched while it runs, and
/// which counts the completion requests it saw. Tests, benchmarks and `arcanos mock-llm` use it as the model.
public final class FakeOpenAIServer: Sendable {
    public enum Mode: String, Sendable, CaseIterable, Codable {
        /// A well-formed completion.
        case ok
        /// HTTP 500 with an error body.
        case error500
        /// HTTP 429 with `Retry-After`.
        case rateLimited = "rate-limited"
        /// Accepts the request and never answers.
        case hang
        /// Answers like `ok` after `slowDelay`.
        case slow
        /// HTTP 200 with a body that is not JSON.
        case garbage
        /// HTTP 200 with JSON that is not a completion.
        case wrongShape = "wrong-shape"
    }

    private struct State {
        var mode: Mode
        var requests = 0
        var slowDelay: Duration = .seconds(2)
        var retryAfterSeconds = 1
        var structuredContent = "{}"
    }

    private let state: Mutex<State>

    public init(mode: Mode = .ok) {
        self.state = Mutex(State(mode: mode))
    }

    public var mode: Mode {
        get { self.state.withLock { $0.mode } }
        set { self.state.withLock { $0.mode = newValue } }
    }

    /// Completion requests received so far, whatever the mode answered.
    public var requestCount: Int { self.state.withLock { $0.requests } }

    public var slowDelay: Duration {
        get { self.state.withLock { $0.slowDelay } }
        set { self.state.withLock { $0.slowDelay = newValue } }
    }

    public var retryAfterSeconds: Int {
        get { self.state.withLock { $0.retryAfterSeconds } }
        set { self.state.withLock { $0.retryAfterSeconds = newValue } }
    }

    /// The message content answered to requests that ask for a JSON schema.
    public var structuredContent: String {
        get { self.state.withLock { $0.structuredContent } }
        set { self.state.withLock { $0.structuredContent = newValue } }
    }

    /// The server as a Hummingbird application: `POST /v1/chat/completions` (and `/chat/completions`),
    /// `GET /_mock` for the mode and count, `POST /_mock/mode/:mode` to switch.
    public func makeApplication(
        host: String = "127.0.0.1",
        port: Int = 0,
        logger: Logger = Logger(label: "arcanos.mock-llm"),
        onServerRunning: @escaping @Sendable (Int) async -> Void = { _ in }
    ) -> some ApplicationProtocol {
        let router = Router()
        let completions: @Sendable (Request, BasicRequestContext) async throws -> Response = { request, context in
            try await self.completion(request, context: context)
        }
        router.post("/v1/chat/completions", use: completions)
        router.post("/chat/completions", use: completions)
        router.get("/_mock") { _, _ -> Response in
            let state = self.state.withLock { $0 }
            return Self.json(.ok, #"{"mode":"\#(state.mode.rawValue)","requests":\#(state.requests)}"#)
        }
        router.post("/_mock/mode/:mode") { _, context -> Response in
            let name = try context.parameters.require("mode")
            guard let mode = Mode(rawValue: name) else {
                let modes = Mode.allCases.map(\.rawValue).joined(separator: ", ")
                return Self.json(.badRequest, #"{"error":"unknown mode; one of \#(modes)"}"#)
            }
            self.mode = mode
            return Self.json(.ok, #"{"mode":"\#(mode.rawValue)"}"#)
        }
        return Application(
            router: router,
            // Benchmarks open a thousand connections at once; the default backlog of 256 would drop some.
            configuration: .init(address: .hostname(host, port: port), serverName: nil, backlog: 4096),
            onServerRunning: { channel in await onServerRunning(channel.localAddress?.port ?? port) },
            logger: logger
        )
    }

    /// Runs the server on an ephemeral loopback port for the duration of `body`, then stops it.
    public func withRunning<Result: Sendable>(
        _ body: @Sendable (_ baseURL: String) async throws -> Result
    ) async throws -> Result {
        let (ports, continuation) = AsyncStream.makeStream(of: Int.self)
        var logger = Logger(label: "arcanos.mock-llm")
        // Stopping by cancellation makes the server log every held connection; that is expected here.
        logger.logLevel = .critical
        let application = self.makeApplication(logger: logger) { port in continuation.yield(port) }
        return try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await application.run() }
            var iterator = ports.makeAsyncIterator()
            guard let port = await iterator.next() else { throw CancellationError() }
            defer { group.cancelAll() }
            return try await body("http://127.0.0.1:\(port)/v1")
        }
    }

    private func completion(_ request: Request, context: BasicRequestContext) async throws -> Response {
        var request = request
        let body = try await request.collectBody(upTo: 1 << 20)
        let (mode, number, delay, retryAfter, structured) = self.state.withLock { state in
            state.requests += 1
            return (state.mode, state.requests, state.slowDelay, state.retryAfterSeconds, state.structuredContent)
        }
        switch mode {
        case .ok:
            return Self.completionResponse(for: body, number: number, structuredContent: structured)
        case .slow:
            try await Task.sleep(for: delay)
            return Self.completionResponse(for: body, number: number, structuredContent: structured)
        case .error500:
            return Self.json(
                .internalServerError,
                #"{"error":{"message":"mock upstream failure","type":"server_error"}}"#
            )
        case .rateLimited:
            var response = Self.json(.tooManyRequests, #"{"error":{"message":"mock rate limit","type":"rate_limit"}}"#)
            response.headers[.retryAfter] = "\(retryAfter)"
            return response
        case .hang:
            // Holds the request until the client gives up or the server shuts down: a graceful shutdown
            // waits for requests in flight, and this one would otherwise keep the process alive for an hour.
            try await cancelWhenGracefulShutdown { try await Task.sleep(for: .seconds(3600)) }
            return Self.json(.gatewayTimeout, "{}")
        case .garbage:
            return Self.json(.ok, "<html>definitely not json")
        case .wrongShape:
            return Self.json(.ok, #"{"unexpected":true,"choices":"none"}"#)
        }
    }

    private struct WireRequest: Decodable {
        struct Message: Decodable {
            var role: String
            var content: String?
        }
        struct ResponseFormat: Decodable {
            var type: String
        }
        var model: String?
        var messages: [Message]
        // swift-format-ignore: AlwaysUseLowerCamelCase
        var response_format: ResponseFormat?
    }

    private static func completionResponse(for body: ByteBuffer, number: Int, structuredContent: String) -> Response {
        guard let request = try? JSONDecoder().decode(WireRequest.self, from: body) else {
            return Self.json(
                .badRequest,
                #"{"error":{"message":"invalid request body","type":"invalid_request_error"}}"#
            )
        }
        let prompt = request.messages.last(where: { $0.role == "user" })?.content ?? ""
        let content =
            request.response_format?.type == "json_schema"
            ? structuredContent
            : "Mock answer to: \(prompt.prefix(200))"
        let words = prompt.split(separator: " ").count
        // Written directly, not with JSONEncoder: benchmarks run this on the machine they measure.
        var writer = JSONWriter()
        writer.object { body in
            body.key("id")
            body.string("chatcmpl-mock-\(number)")
            body.key("object")
            body.string("chat.completion")
            body.key("created")
            body.number(Int(Date().timeIntervalSince1970))
            body.key("model")
            body.string(request.model ?? "mock-model")
            body.key("choices")
            body.array { choices in
                choices.object { choice in
                    choice.key("index")
                    choice.number(0)
                    choice.key("message")
                    choice.object { message in
                        message.key("role")
                        message.string("assistant")
                        message.key("content")
                        message.string(content)
                    }
                    choice.key("finish_reason")
                    choice.string("stop")
                }
            }
            body.key("usage")
            body.object { usage in
                usage.key("prompt_tokens")
                usage.number(words)
                usage.key("completion_tokens")
                usage.number(6)
                usage.key("total_tokens")
                usage.number(words + 6)
            }
        }
        return Response(
            status: .ok,
            headers: [.contentType: "application/json"],
            body: .init(byteBuffer: ByteBuffer(bytes: writer.bytes))
        )
    }

    private static func json(_ status: HTTPResponse.Status, _ text: String) -> Response {
        Response(
            status: status,
            headers: [.contentType: "application/json"],
            body: .init(byteBuffer: ByteBuffer(string: text))
        )
    }
}
