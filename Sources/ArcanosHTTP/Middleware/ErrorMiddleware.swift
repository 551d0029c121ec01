import ArcanosCore
import HTTPTypes
import Hummingbird
import Logging
import NIOCore

/// Whatever a route or the framework throws below it leaves as an `ArcanosError` body,
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
            return ArcanosError.response(for: error, to: request, logger: context.logger)
        }
    }
}
