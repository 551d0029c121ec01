import ArcanosCore
import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore

/// The OpenAI-compatible door: `POST /v1/chat/completions` and `GET /v1/models`, so that code written
/// against OpenAI's SDKs reaches the model through Arcanos' deadline, retries, breakers, fallback chain and
/// admission limit (the `/ask` client). Requests are passed through in OpenAI's wire format; only the model
/// is chosen here. Errors are `ArcanosError`s, rendered in OpenAI's dialect on these paths.
struct OpenAICompatibleController {
    static let pathPrefix = "/v1/"
    /// Names every configured chain by another name: `arcanos` is the whole chain from `AI_MODEL`.
    static let defaultAlias = "arcanos"

    let client: ResilientLLMClient
    /// Counts degraded answers with `/ask`'s (one record of them, for the heal signal and metrics).
    let askService: AskService
    /// `OPENAI_FIRST_TOKEN_TIMEOUT_MS`.
    let firstTokenTimeout: Duration
    /// When the server started: the `created` of every listed model.
    let startedAt: Date

    func addRoutes(to group: RouterGroup<AppRequestContext>) {
        group
            .post("chat/completions", use: self.chatCompletions)
            .get("models", use: self.models)
    }

    /// The names a caller may use: the alias first, then every model of the chain.
    var modelNames: [String] { [Self.defaultAlias] + self.client.configuration.models }

    @Sendable
    func models(_ request: Request, context: AppRequestContext) async throws -> Response {
        var writer = JSONWriter()
        writer.object { body in
            body.key("object")
            body.string("list")
            body.key("data")
            body.array { data in
                for name in self.modelNames {
                    data.object { model in
                        model.key("id")
                        model.string(name)
                        model.key("object")
                        model.string("model")
                        model.key("created")
                        model.number(Int(self.startedAt.timeIntervalSince1970))
                        model.key("owned_by")
                        model.string("arcanos")
                    }
                }
            }
        }
        return Response.json(bytes: ByteBuffer(bytes: writer.bytes))
    }

    @Sendable
    func chatCompletions(_ request: Request, context: AppRequestContext) async throws -> Response {
        var request = request
        let body = try await request.collectBody(upTo: context.maxUploadSize)
        guard let json = JSONValue(parsing: body.readableBytesView) else {
            throw ArcanosError.invalidRequest("request body is not valid JSON")
        }
        let chat = try ChatCompletionRequest(json)
        let chain =
            chat.model == Self.defaultAlias
            ? self.client.configuration.models : self.client.chain(startingAt: chat.model)
        guard let chain, !chain.isEmpty else {
            throw ArcanosError(
                .modelNotFound,
                "The model '\(chat.model.prefix(100))' does not exist here; GET /v1/models lists the models"
            )
        }
        guard chat.stream else {
            let answer: ChatCompletionAnswer
            do {
                answer = try await self.client.chatCompletion(chat, chain: chain)
            } catch {
                throw self.unavailable(error)
            }
            var response = Response.json(bytes: ByteBuffer(bytes: answer.body))
            response.headers[.arcanosModel] = answer.model
            return response
        }
        let stream: ChatCompletionStream
        do {
            stream = try await self.client.chatCompletionStream(
                chat,
                chain: chain,
                firstTokenTimeout: self.firstTokenTimeout
            )
        } catch {
            throw self.unavailable(error)
        }
        return Response(
            status: .ok,
            headers: [
                .contentType: "text/event-stream",
                .cacheControl: "no-store",
                .arcanosModel: stream.model,
            ],
            body: ResponseBody { writer in
                do {
                    // One event at a time, as the upstream sends them: the next is read only once this one
                    // is written, so a slow client slows the upstream read instead of filling memory.
                    while let event = try await stream.next() {
                        try await writer.write(ByteBuffer(bytes: event))
                    }
                } catch let failure as LLMFailure {
                    // After the first token a failure cannot change the status any more: it ends the stream
                    // with an error event, never `[DONE]`, so that the SDKs raise instead of reading a
                    // truncated answer as a whole one.
                    let error = ArcanosError(
                        .llmUnavailable,
                        "The model's answer was interrupted; it is incomplete",
                        underlying: failure
                    )
                    try await writer.write(ByteBuffer(bytes: Self.event(error.openAIErrorBody)))
                } catch {
                    // The client went away: drop the upstream call with the stream.
                    stream.cancel()
                    throw error
                }
                try await writer.finish(nil)
            }
        )
    }

    /// A model failure as the error the client gets: 429 when the upstream's rate limit is the cause, a
    /// request the upstream refused as malformed 400, else 503, with `Retry-After` from the degraded answer
    /// (counted like `/ask`'s). Never a placeholder dressed as a completion.
    private func unavailable(_ error: any Error) -> any Error {
        guard let failure = LLMFailure(from: error) else { return error }
        if failure.kind == .rejected, let status = failure.statusCode, [400, 413, 422].contains(status) {
            return ArcanosError(.invalidRequest, "The model refused the request as invalid (HTTP \(status))")
        }
        let degraded = self.askService.degradedAnswer(prompt: nil, failure: failure, now: Date())
        let code: ArcanosError.Code =
            failure.kind == .rateLimited ? .rateLimited : (error as? ArcanosError)?.code ?? .llmUnavailable
        return ArcanosError(code, degraded.message, retryAfter: degraded.retryAfter, underlying: failure)
    }

    private static func event(_ data: [UInt8]) -> [UInt8] {
        Array("data: ".utf8) + data + Array("\n\n".utf8)
    }
}

extension HTTPField.Name {
    /// The model of the chain that answered a `/v1` call.
    public static let arcanosModel = Self("x-arcanos-model")!
}
