import ArcanosCore
import HTTPTypes
import Hummingbird
import Logging

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
        } catch let error as ArcanosError {
            if error.status.code >= 500, error.code != .llmUnavailable, error.code != .circuitOpen,
                error.code != .notReady
            {
                context.logger.error(
                    "request failed",
                    metadata: [
                        "error.code": "\(error.code.rawValue)", "error": "\(error.underlying.map { "\($0)" } ?? "")",
                    ]
                )
            }
            throw error
        } catch let error as HTTPError {
            throw Self.translate(error)
        } catch {
            context.logger.error("unhandled error", metadata: ["error.type": "\(String(reflecting: type(of: error)))"])
            throw ArcanosError(.internalError, "Internal server error", underlying: error)
        }
    }

    static func translate(_ error: HTTPError) -> ArcanosError {
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
