import ArcanosCore
import HTTPTypes
import Hummingbird
import Logging
import Synchronization

/// The routes of the router once it is built, for answers that need to know them all.
public final class RouteTable: Sendable {
    private let patterns = Mutex<[(method: String, segments: [Substring])]>([])

    public init() {}

    /// Sets the table from the router's routes (paths in the router's form, `/jobs/{id}`).
    public func set(_ routes: [(method: String, path: String)]) {
        let patterns = routes.map { (method: $0.method, segments: $0.path.split(separator: "/")) }
        self.patterns.withLock { $0 = patterns }
    }

    /// The methods of the routes whose pattern matches `path`, sorted.
    public func methods(matching path: String) -> [String] {
        let segments = path.split(separator: "/")
        let methods = self.patterns.withLock { patterns in
            patterns.filter { Self.matches($0.segments, segments) }.map(\.method)
        }
        return Array(Set(methods)).sorted()
    }

    /// Whether a route takes `method` on `path`: the per-request question, without building the method list.
    public func contains(method: String, path: String) -> Bool {
        let segments = path.split(separator: "/")
        return self.patterns.withLock { patterns in
            patterns.contains { $0.method == method && Self.matches($0.segments, segments) }
        }
    }

    private static func matches(_ pattern: [Substring], _ segments: [Substring]) -> Bool {
        pattern.count == segments.count
            && zip(pattern, segments).allSatisfy { $0.hasPrefix("{") || $0 == "*" || $0 == $1 }
    }
}

/// Answers 405 with `Allow` — not 404 — when the path names a route that does not take the request's method.
/// Hummingbird's router only knows "no route for this method and path".
public struct MethodNotAllowedMiddleware<Context: RequestContext>: RouterMiddleware {
    let routes: RouteTable

    public init(routes: RouteTable) {
        self.routes = routes
    }

    public func handle(
        _ request: Request,
        context: Context,
        next: (Request, Context) async throws -> Response
    ) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let error as HTTPError where error.status == .notFound && context.endpointPath == "NotFound" {
            let allowed = self.routes.methods(matching: request.uri.path)
            guard !allowed.isEmpty else { throw error }
            var response = ArcanosError(.methodNotAllowed, "Method not allowed on this route").response(to: request)
            response.headers[.allow] = allowed.joined(separator: ", ")
            return response
        }
    }
}
