import ArcanosCore
import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import NIOFoundationCompat

/// The only place an error becomes an HTTP status.
extension ArcanosError: HTTPResponseError {
    public var status: HTTPResponse.Status {
        switch self.code {
        case .invalidRequest, .invalidWorkerHealRequest: .badRequest
        case .unauthorized: .unauthorized
        case .forbidden: .forbidden
        case .notFound, .modelNotFound: .notFound
        case .methodNotAllowed: .methodNotAllowed
        case .payloadTooLarge: .contentTooLarge
        case .unsupportedMediaType: .unsupportedMediaType
        case .rateLimited: .tooManyRequests
        case .llmUnavailable, .circuitOpen, .notReady: .serviceUnavailable
        case .stateCorrupted, .configurationInvalid, .internalError: .internalServerError
        }
    }

    public func response(from request: Request, context: some RequestContext) throws -> Response {
        var headers: HTTPFields = [.contentType: "application/json; charset=utf-8"]
        if let retryAfter = self.retryAfter {
            headers[.retryAfter] = String(Self.retryAfterSeconds(retryAfter))
        }
        if self.code == .unauthorized {
            headers[.wwwAuthenticate] = #"Bearer realm="arcanos""#
        }
        // The OpenAI-compatible routes speak OpenAI's error dialect, so that its SDKs read (and retry) them.
        if request.uri.path.hasPrefix(OpenAICompatibleController.pathPrefix) {
            return self.openAIResponse(headers: headers)
        }
        let body = try Self.bodyEncoder.encode(
            ErrorBody(error: self.code.rawValue, message: self.message, details: self.details)
        )
        return Response(status: self.status, headers: headers, body: .init(byteBuffer: ByteBuffer(data: body)))
    }

    private static let bodyEncoder = JSONEncoder()

    /// Whole seconds, rounded up, at least 1: what `Retry-After` carries.
    static func retryAfterSeconds(_ duration: Duration) -> Int64 {
        max(1, Int64((duration.seconds).rounded(.up)))
    }
}

/// `{ "error": <stable code>, "message": <safe text> }`, the body of every error response.
struct ErrorBody: Codable {
    var error: String
    var message: String
    /// Present only when the error carries safe specifics (`ArcanosError.details`).
    var details: JSONValue?
}
