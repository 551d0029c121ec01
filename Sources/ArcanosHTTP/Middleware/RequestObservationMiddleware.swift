import ArcanosCore
import HTTPTypes
import Hummingbird
import Logging

/// Outermost middleware: turns every error into its response here, so that each response — errors
/// included — carries `x-request-id` (the id in every log line of the request, `hb.request.id`) and is
/// counted in the request metrics under its matched route pattern (`/jobs/{id}`), never the raw path.
public struct RequestObservationMiddleware<Context: RequestContext>: RouterMiddleware {
    let metrics: ArcanosMetrics

    public init(metrics: ArcanosMetrics) {
        self.metrics = metrics
    }

    public func handle(
        _ request: Request,
        context: Context,
        next: (Request, Context) async throws -> Response
    ) async throws -> Response {
        let start = ContinuousClock.now
        var context = context
        // Hummingbird puts an id in the request's logger; a handler that keeps no metadata loses it, so make one.
        let requestID = context.logger[metadataKey: Self.requestIDKey]?.description ?? RequestID().description
        context.logger[metadataKey: Self.requestIDKey] = .string(requestID)
        var response: Response
        do {
            response = try await next(request, context)
        } catch {
            // Errors of the middlewares outside `ErrorMiddleware`, through the same path.
            response = ArcanosError.response(for: error, to: request, logger: context.logger)
        }
        response.headers[.requestID] = requestID
        self.metrics.recordRequest(
            method: request.method.rawValue,
            route: Self.route(context.endpointPath),
            status: Int(response.status.code),
            duration: start.duration(to: .now)
        )
        return response
    }

    static var requestIDKey: String { "hb.request.id" }

    /// The matched route pattern; every unmatched request shares one value so that scanners cannot mint series.
    static func route(_ endpointPath: String?) -> String {
        guard let endpointPath, endpointPath.hasPrefix("/") else { return "unmatched" }
        return endpointPath
    }
}

extension HTTPField.Name {
    public static let requestID = Self("x-request-id")!
}
