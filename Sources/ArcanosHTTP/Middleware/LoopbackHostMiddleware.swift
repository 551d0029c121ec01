import ArcanosCore
import HTTPTypes
import Hummingbird
import Logging

/// Without operator keys, answers only requests addressed to a loopback host (`APIKeyPolicy.acceptsHost`) and,
/// when a browser says which page sent them, sent from a page on one (`acceptsOrigin`): neither a
/// DNS-rebinding page nor a cross-site form can drive a keyless server through a browser on the same
/// machine. 403 otherwise.
public struct LoopbackHostMiddleware<Context: RequestContext>: RouterMiddleware {
    let policy: APIKeyPolicy

    public init(policy: APIKeyPolicy) {
        self.policy = policy
    }

    public func handle(
        _ request: Request,
        context: Context,
        next: (Request, Context) async throws -> Response
    ) async throws -> Response {
        guard self.policy.acceptsHost(request.head.authority ?? request.headers[.host]) else {
            throw ArcanosError(
                .forbidden,
                "Without API keys this server only answers requests addressed to localhost or a loopback address"
            )
        }
        guard self.policy.acceptsOrigin(request.headers[.origin]) else {
            throw ArcanosError(
                .forbidden,
                "Without API keys this server only answers pages served from a loopback host"
            )
        }
        return try await next(request, context)
    }
}

extension HTTPField.Name {
    static let host = Self("host")!
    static let origin = Self("origin")!
}
