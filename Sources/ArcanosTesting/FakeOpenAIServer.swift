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
        /// Streams `cutAfterChunks` chunks, then drops the connection without `[DONE]` (answers whole
        /// requests like `ok`).
        case streamCut = "stream-cut"
        /// Streams the role chunk, then holds the stream before its first token (holds whole requests).
        case stallFirstToken = "stall-first-token"
    }

    private struct State {
        var mode: Mode
        var requests = 0
        var slowDelay: Duration = .seconds(2)
        var retryAfterSeconds = 1
        var structuredContent = "{}"
        /// Modes for requests naming one model, over `mode`.
        var modelModes: [String: Mode] = [:]
        var cutAfterChunks = 2
        var streamChunkDelay: Duration = .zero
        var streamChunkCount: Int?
        var streamsCancelled = 0
        /// Set by `holdCut()`: a `stream-cut` stream waits for it before dropping the connection.
        var cutRelease: OneShot<Void>?
        var lastRequestBody: [UInt8] = []
    }

    private let state: Mutex<State>

    public init(mode: Mode = .ok) {
        self.state = Mutex(State(mode: mode))
    }

    public var mode: Mode {
        get { self.state.withLock { $0.mode } }
        set { self.state.withLock { $0.mode = newValue } }
    }

    /// Sets the mode of requests naming `model` (nil: back to the server's mode).
    public func setMode(_ mode: Mode?, forModel model: String) {
        self.state.withLock { $0.modelModes[model] = mode }
    }

    /// Content chunks streamed before `stream-cut` drops the connection.
    public var cutAfterChunks: Int {
        get { self.state.withLock { $0.cutAfterChunks } }
        set { self.state.withLock { $0.cutAfterChunks = newValue } }
    }

    /// Pause between streamed chunks.
    public var streamChunkDelay: Duration {
        get { self.state.withLock { $0.streamChunkDelay } }
        set { self.state.withLock { $0.streamChunkDelay = newValue } }
    }

    /// Content chunks of a stream (the answer's words repeated); nil: one per word of the answer.
    public var streamChunkCount: Int? {
        get { self.state.withLock { $0.streamChunkCount } }
        set { self.state.withLock { $0.streamChunkCount = newValue } }
    }

    /// The body of the latest completion request, as it came.
    public var lastRequestBody: [UInt8] { self.state.withLock { $0.lastRequestBody } }

    /// Streams whose client went away before the end.
    public var streamsCancelled: Int { self.state.withLock { $0.streamsCancelled } }

    /// Makes the next `stream-cut` streams hold the connection after their chunks until `releaseCut()`, so a
    /// test can see every chunk arrive before the cut (a connection dropped at once may lose what it had not
    /// flushed yet).
    public func holdCut() {
        self.state.withLock { $0.cutRelease = OneShot() }
    }

    /// Lets held `stream-cut` streams drop their connections.
    public func releaseCut() {
        _ = self.state.withLock { $0.cutRelease }?.resolve(())
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
            return Self.json(
                .ok,
                #"{"mode":"\#(state.mode.rawValue)","requests":\#(state.requests),"#
                    + #""streamsCancelled":\#(state.streamsCancelled)}"#
            )
        }
        // `?model=M` sets the mode of requests naming M only (`ok` there while the rest fails, say); without
        // it, the mode of every model;
        // `?retryAfter=S` the `Retry-After` of `rate-limited`.
        router.post("/_mock/mode/:mode") { request, context -> Response in
            let name = try context.parameters.require("mode")
            guard let mode = Mode(rawValue: name) else {
                let modes = Mode.allCases.map(\.rawValue).joined(separator: ", ")
                return Self.json(.badRequest, #"{"error":"unknown mode; one of \#(modes)"}"#)
            }
            if let seconds = request.uri.queryParameters["retryAfter"].flatMap({ Int($0) }) {
                self.retryAfterSeconds = seconds
            }
            if let model = request.uri.queryParameters["model"] {
                self.setMode(mode, forModel: String(model))
            } else {
                self.state.withLock { state in
                    state.mode = mode
                    state.modelModes = [:]
                }
            }
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
        let wire = try? JSONDecoder().decode(WireRequest.self, from: body)
        let (state, number) = self.state.withLock { state in
            state.requests += 1
            state.lastRequestBody = Array(body.readableBytesView)
            return (state, state.requests)
        }
        let mode = wire?.model.flatMap { state.modelModes[$0] } ?? state.mode
        let (delay, retryAfter, structured) = (state.slowDelay, state.retryAfterSeconds, state.structuredContent)
        if let wire, wire.stream == true, mode == .ok || mode == .slow || mode == .streamCut || mode == .stallFirstToken
        {
            if mode == .slow { try await Task.sleep(for: delay) }
            return self.streamResponse(for: wire, number: number, mode: mode, state: state)
        }
        switch mode {
        case .ok, .streamCut:
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
        case .hang, .stallFirstToken:
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

    // swift-format-ignore: AlwaysUseLowerCamelCase
    private struct WireRequest: Decodable {
        struct Message: Decodable {
            var role: String
            var content: String?

            init(from decoder: any Decoder) throws {
                let container = try decoder.container(keyedBy: CodingKeys.self)
                self.role = (try? container.decode(String.self, forKey: .role)) ?? "user"
                // Content parts, tool results and the like are answered as if empty, as a lenient model would.
                self.content = try? container.decode(String.self, forKey: .content)
            }

            enum CodingKeys: String, CodingKey { case role, content }
        }
        struct ResponseFormat: Decodable {
            var type: String
        }
        struct StreamOptions: Decodable {
            var include_usage: Bool?
        }
        var model: String?
        var messages: [Message]
        var response_format: ResponseFormat?
        var stream: Bool?
        var stream_options: StreamOptions?
    }

    private struct CutStream: Error {}

    /// `stream: true`: the answer as chat-completion chunks (role, one per word, finish, usage when asked),
    /// then `[DONE]`; `stream-cut` drops the connection after `cutAfterChunks` content chunks, and
    /// `stall-first-token` holds the stream after the role chunk.
    private func streamResponse(for request: WireRequest, number: Int, mode: Mode, state: State) -> Response {
        let prompt = request.messages.last(where: { $0.role == "user" })?.content ?? ""
        var words = "Mock answer to: \(prompt.prefix(200))".split(separator: " ").map { String($0) + " " }
        if let count = state.streamChunkCount {
            words = (0..<count).map { words[$0 % words.count] }
        }
        let model = request.model ?? "mock-model"
        let id = "chatcmpl-mock-\(number)"
        let created = Int(Date().timeIntervalSince1970)
        func chunk(_ fill: (inout JSONWriter) -> Void) -> ByteBuffer {
            var writer = JSONWriter()
            writer.object { body in
                body.key("id")
                body.string(id)
                body.key("object")
                body.string("chat.completion.chunk")
                body.key("created")
                body.number(created)
                body.key("model")
                body.string(model)
                fill(&body)
            }
            return ByteBuffer(bytes: Array("data: ".utf8) + writer.bytes + Array("\n\n".utf8))
        }
        func choice(_ body: inout JSONWriter, delta: (inout JSONWriter) -> Void, finish: String?) {
            body.key("choices")
            body.array { choices in
                choices.object { choice in
                    choice.key("index")
                    choice.number(0)
                    choice.key("delta")
                    choice.object(delta)
                    choice.key("finish_reason")
                    if let finish { choice.string(finish) } else { choice.null() }
                }
            }
        }
        let includeUsage = request.stream_options?.include_usage == true
        let promptWords = prompt.split(separator: " ").count
        let role = chunk { body in
            choice(
                &body,
                delta: {
                    $0.key("role")
                    $0.string("assistant")
                    $0.key("content")
                    $0.string("")
                },
                finish: nil
            )
        }
        let contents = words.map { word in
            chunk { body in
                choice(
                    &body,
                    delta: {
                        $0.key("content")
                        $0.string(word)
                    },
                    finish: nil
                )
            }
        }
        var tail = [chunk { body in choice(&body, delta: { _ in }, finish: "stop") }]
        if includeUsage {
            tail.append(
                chunk { body in
                    body.key("choices")
                    body.array { _ in }
                    body.key("usage")
                    body.object { usage in
                        usage.key("prompt_tokens")
                        usage.number(promptWords)
                        usage.key("completion_tokens")
                        usage.number(words.count)
                        usage.key("total_tokens")
                        usage.number(promptWords + words.count)
                    }
                }
            )
        }
        tail.append(ByteBuffer(string: "data: [DONE]\n\n"))
        let frames = tail
        return Response(
            status: .ok,
            headers: [.contentType: "text/event-stream", .cacheControl: "no-cache"],
            body: ResponseBody { writer in
                do {
                    try await writer.write(role)
                    if mode == .stallFirstToken {
                        try await cancelWhenGracefulShutdown { try await Task.sleep(for: .seconds(3600)) }
                    }
                    for (index, content) in contents.enumerated() {
                        if mode == .streamCut, index == state.cutAfterChunks {
                            if let release = self.state.withLock({ $0.cutRelease }) { await release.value }
                            throw CutStream()
                        }
                        if state.streamChunkDelay > .zero { try await Task.sleep(for: state.streamChunkDelay) }
                        try await writer.write(content)
                    }
                    for frame in frames { try await writer.write(frame) }
                    try await writer.finish(nil)
                } catch let error as CutStream {
                    throw error
                } catch {
                    self.state.withLock { $0.streamsCancelled += 1 }
                    throw error
                }
            }
        )
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
