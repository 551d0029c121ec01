import ArcanosCore
import HTTPTypes
import Hummingbird
import Logging

/// Reads the whole body up to the configured limit before anything else sees it: a larger body is 413
/// without being buffered, and later readers get the collected bytes.
public struct BodyLimitMiddleware<Context: RequestContext>: RouterMiddleware {
    let limit: Int

    public init(limit: Int) {
        self.limit = limit
    }

    public func handle(
        _ request: Request,
        context: Context,
        next: (Request, Context) async throws -> Response
    ) async throws -> Response {
        if let length = request.headers[.contentLength].flatMap(Int.init), length > self.limit {
            throw ArcanosError(.payloadTooLarge, "Request body is larger than \(self.limit) bytes")
        }
        var request = request
        do {
            _ = try await request.collectBody(upTo: self.limit)
        } catch let error as HTTPError where error.status == .contentTooLarge {
            throw ArcanosError(.payloadTooLarge, "Request body is larger than \(self.limit) bytes")
        }
        return try await next(request, context)
    }
}
