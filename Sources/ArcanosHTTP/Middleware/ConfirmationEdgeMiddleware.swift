import ArcanosCore
import HTTPTypes
import Hummingbird
import Logging

/// The confirmation gate's rules for requests it never decided, on every route (outermost middleware):
///
/// - a challenge named in `x-confirmed: token:<id>` is burnt whatever became of the request — turned away
///   for a missing key, sent with another method, to another path or with a body over the limit — so a
///   challenge is good for one try, not one try that happened to reach the gate;
/// - a response of a gated route that the gate did not decide (a 401 before it, a 413 from the body limit)
///   still carries `x-confirmation-status`, as `unchecked`.
public struct ConfirmationEdgeMiddleware<Context: RequestContext>: RouterMiddleware {
    let service: ConfirmationService
    /// The routes behind the gate, filled in once the router is built.
    let gatedRoutes: RouteTable

    public init(service: ConfirmationService, gatedRoutes: RouteTable) {
        self.service = service
        self.gatedRoutes = gatedRoutes
    }

    /// `x-confirmation-status` on a gated route's response that the gate did not decide.
    public static var uncheckedStatus: String { "unchecked" }

    public func handle(
        _ request: Request,
        context: Context,
        next: (Request, Context) async throws -> Response
    ) async throws -> Response {
        // The gate takes the challenge first when the request reaches it; this only burns what it never saw.
        let namesChallenge = request.headers[.confirmed]?.lowercased().contains("token:") == true
        var response: Response
        do {
            response = try await next(request, context)
        } catch {
            if namesChallenge { await self.burnChallenge(namedIn: request, context: context) }
            throw error
        }
        if namesChallenge { await self.burnChallenge(namedIn: request, context: context) }
        if response.headers[.confirmationStatus] == nil,
            self.gatedRoutes.contains(method: request.method.rawValue, path: request.uri.path)
        {
            response.headers[.confirmationStatus] = Self.uncheckedStatus
        }
        return response
    }

    /// A store that cannot be reached leaves the challenge to expire; the request's answer stands.
    private func burnChallenge(namedIn request: Request, context: Context) async {
        do {
            try await self.service.burnChallenge(namedIn: ConfirmationRequest(request))
        } catch {
            context.logger.warning("challenge not burned", metadata: ["error": "\(error)"])
        }
    }
}

extension HTTPField.Name {
    static let confirmed = Self(ConfirmationRequest.Header.confirmed)!
}
