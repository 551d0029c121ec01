import ArcanosCore
import HTTPTypes
import Hummingbird
import Logging
import NIOCore

/// Outermost middleware: whatever a route or the framework throws leaves as an `ArcanosError` body,
/// so a client never sees a framework message, a driver error or a stack trace.
public struct ErrorMiddleware<Context: RequestContext>: RouterMiddleware {
    public init() {}

    public func handle(
        _ request: Request,
        context: Context,
        next: (Request, Context) async throws -> Response
    ) async throws -> Response {
        do {
            return try await next(request, context)
        } catch {
            throw ArcanosError.translating(error, logger: context.logger)
        }
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
        if translated.status.code >= 500, translated.code != .llmUnavailable, translated.code != .circuitOpen,
            translated.code != .notReady
        {
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
