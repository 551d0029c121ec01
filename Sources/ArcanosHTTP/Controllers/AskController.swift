import ArcanosCore
import HTTPTypes
import Hummingbird
import Logging
import NIOCore

/// `POST /ask` and `GET /ask?prompt=`: a prompt in, the model's answer out.
struct AskController {
    let askService: AskService

    func addRoutes(to group: RouterGroup<AppRequestContext>) {
        group
            .post(use: self.ask)
            .get(use: self.ask)
    }

    @Sendable
    func ask(_ request: Request, context: AppRequestContext) async throws -> AskAnswer {
        var request = request
        let input: AskInput
        if let parsed = context.askInput {
            input = parsed
        } else {
            input = try await AskRequest.input(from: &request, context: context)
        }
        return try await self.askService.answer(input)
    }
}

/// The `/ask` request: `{prompt, sessionId?, metadata?}` as JSON, or `?prompt=` on GET.
struct AskRequest: Decodable {
    var prompt: String
    var sessionId: String?
    var metadata: JSONValue?

    static func input(from request: inout Request, context: AppRequestContext) async throws -> AskInput {
        if request.method == .get {
            guard let prompt = request.uri.queryParameters["prompt"] else {
                throw ArcanosError.invalidRequest("prompt is required")
            }
            return try AskInput(
                prompt: String(prompt),
                sessionId: request.uri.queryParameters["sessionId"].map(String.init)
            )
        }
        let body = try await request.decodeJSON(AskRequest.self, context: context)
        switch body.metadata {
        case nil, .null?, .object?: break
        default: throw ArcanosError.invalidRequest("metadata must be an object")
        }
        return try AskInput(prompt: body.prompt, sessionId: body.sessionId)
    }
}

extension AskAnswer: ResponseGenerator {
    public func response(from request: Request, context: some RequestContext) -> Response {
        Response.json(bytes: ByteBuffer(bytes: self.json))
    }
}
