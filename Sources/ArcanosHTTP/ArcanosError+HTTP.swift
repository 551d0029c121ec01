import ArcanosCore
import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore

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
        case .llmUnavailable, .circuitOpen, .notReady, .storeUnavailable: .serviceUnavailable
        case .stateCorrupted, .configurationInvalid, .internalError: .internalServerError
        }
    }

    public func response(from request: Request, context: some RequestContext) -> Response {
        self.response(to: request)
    }

    /// The one way an error leaves the server, used by `ErrorMiddleware`, the confirmation gate and the outermost
    /// middleware: whatever was thrown, translated (and logged at its level), as its JSON error response.
    public static func response(for error: any Error, to request: Request, logger: Logger) -> Response {
        Self.translating(error, logger: logger).response(to: request)
    }

    /// This error as the response to `request`: its status, `Retry-After` when it has one, `WWW-Authenticate` on
    /// a 401, and `{ "error", "message", "details"? }` — or, on the OpenAI-compatible routes, OpenAI's dialect,
    /// so that its SDKs read (and retry) them.
    func response(to request: Request) -> Response {
        var headers: HTTPFields = [:]
        if let retryAfter = self.retryAfter {
            headers[.retryAfter] = String(Self.retryAfterSeconds(retryAfter))
        }
        if self.code == .unauthorized {
            headers[.wwwAuthenticate] = #"Bearer realm="arcanos""#
        }
        if request.uri.path.hasPrefix(OpenAICompatibleController.pathPrefix) {
            return self.openAIResponse(headers: headers)
        }
        let body = ErrorBody(error: self.code.rawValue, message: self.message, details: self.details)
        // The body is strings and JSON values: encoding it cannot fail, but a response must come out regardless.
        return (try? Response.json(body, status: self.status, headers: headers)) ?? Response(status: self.status)
    }

    /// Whole seconds, rounded up, at least 1: what `Retry-After` carries.
    static func retryAfterSeconds(_ duration: Duration) -> Int64 {
        max(1, Int64((duration.seconds).rounded(.up)))
    }
}

extension ArcanosError {
    /// The one translation of anything thrown below the router into the error the client gets, shared by
    /// `ErrorMiddleware` and the confirmation gate (which answers errors itself so that they carry its header).
    /// What the client sent wrongly — a body over a limit, broken framing, a route that does not exist — is
    /// a 4xx; only the server's own failures are a 500, and those are logged here.
    static func translating(_ error: any Error, logger: Logger) -> ArcanosError {
        let translated: ArcanosError
        switch error {
        case let error as ArcanosError:
            translated = error
        case let error as HTTPError:
            translated = Self.translating(error)
        case is NIOTooManyBytesError:
            // A body over a route's own limit, smaller than the global one (`RequestBodyMiddleware` reads every
            // body first and answers framing errors and the global limit itself).
            translated = ArcanosError(.payloadTooLarge, "Request body is too large")
        default:
            logger.error("unhandled error", metadata: ["error.type": "\(String(reflecting: type(of: error)))"])
            return ArcanosError(.internalError, "Internal server error", underlying: error)
        }
        // Outages of what the server depends on (the model, the store) are reported where they are noticed, not
        // once per request.
        let outages: Set<Code> = [.llmUnavailable, .circuitOpen, .notReady, .storeUnavailable]
        if translated.status.code >= 500, !outages.contains(translated.code) {
            logger.error(
                "request failed",
                metadata: [
                    "error.code": "\(translated.code.rawValue)",
                    "error": "\(translated.underlying.map { "\($0)" } ?? "")",
                ]
            )
        }
        return translated
    }

    private static func translating(_ error: HTTPError) -> ArcanosError {
        switch error.status {
        case .notFound: ArcanosError(.notFound, "No such route")
        case .methodNotAllowed: ArcanosError(.methodNotAllowed, "Method not allowed on this route")
        case .contentTooLarge: ArcanosError(.payloadTooLarge, "Request body is too large")
        case .unauthorized: ArcanosError(.unauthorized, "Missing or invalid API key")
        case .tooManyRequests: ArcanosError(.rateLimited, "Too many requests")
        case .badRequest: ArcanosError(.invalidRequest, "Malformed request")
        default:
            error.status.code < 500
                ? ArcanosError(.invalidRequest, "Request rejected")
                : ArcanosError(.internalError, "Internal server error", underlying: error)
        }
    }
}

/// `{ "error": <stable code>, "message": <safe text> }`, the body of every error response.
struct ErrorBody: Codable {
    var error: String
    var message: String
    /// Present only when the error carries safe specifics (`ArcanosError.details`).
    var details: JSONValue?
}
