import ArcanosCore
import HTTPTypes
import Hummingbird
import Logging

/// Requires `Authorization: Bearer <key>` with one of the operator keys, when keys are configured.
public struct APIKeyMiddleware<Context: RequestContext>: RouterMiddleware {
    let policy: APIKeyPolicy

    public init(policy: APIKeyPolicy) {
        self.policy = policy
    }

    public func handle(
        _ request: Request,
        context: Context,
        next: (Request, Context) async throws -> Response
    ) async throws -> Response {
        guard self.policy.isEnforced else { return try await next(request, context) }
        guard let presented = Self.bearerToken(request), self.policy.accepts(presented) else {
            throw ArcanosError(.unauthorized, "Missing or invalid API key")
        }
        return try await next(request, context)
    }

    static func bearerToken(_ request: Request) -> Substring? {
        guard let header = request.headers[.authorization] else { return nil }
        let parts = header.split(separator: " ", maxSplits: 1, omittingEmptySubsequences: true)
        guard parts.count == 2, parts[0].lowercased() == "bearer" else { return nil }
        return parts[1]
    }
}
