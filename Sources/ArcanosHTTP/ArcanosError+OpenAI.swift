import ArcanosCore
import HTTPTypes
import Hummingbird
import NIOCore

/// `ArcanosError` in OpenAI's dialect, for the `/v1` routes: `{error: {message, type, code, param}}`, the
/// shape the OpenAI SDKs parse into their typed errors. A rendering of the one error, not a second error path.
extension ArcanosError {
    /// OpenAI's error `type` for this error's status.
    var openAIType: String {
        switch self.status.code {
        case 401: "authentication_error"
        case 403: "permission_error"
        case 429: "rate_limit_error"
        case 500...: "server_error"
        default: "invalid_request_error"
        }
    }

    /// The `code` of the body: why the model could not be used (as in `x-arcanos-degraded-reason`) when that
    /// is the cause, else the stable code.
    var openAICode: String {
        self.degradedReason ?? self.code.rawValue
    }

    /// The failure kind of a degraded answer; nil for errors that are not about the model's availability.
    var degradedReason: String? {
        switch self.code {
        case .llmUnavailable, .circuitOpen, .rateLimited: (self.underlying as? LLMFailure)?.kind.rawValue
        default: nil
        }
    }

    func openAIResponse(headers: HTTPFields) -> Response {
        var headers = headers
        if let reason = self.degradedReason {
            headers[.arcanosDegradedReason] = reason
        }
        return Response.json(bytes: ByteBuffer(bytes: self.openAIErrorBody), status: self.status, headers: headers)
    }

    /// `{"error": {"message", "type", "code", "param"}}`; also the data of a stream's error event.
    var openAIErrorBody: [UInt8] {
        var writer = JSONWriter()
        writer.object { body in
            body.key("error")
            body.object { error in
                error.key("message")
                error.string(self.message)
                error.key("type")
                error.string(self.openAIType)
                error.key("code")
                error.string(self.openAICode)
                error.key("param")
                error.null()
            }
        }
        return writer.bytes
    }
}
