import ArcanosCore
import Foundation

/// The OpenAPI 3.1 document of `GET /openapi.json`, importable as GPT Actions (absolute server URL,
/// an `operationId` and a description on every operation).
///
/// The contract is data: `Resources/openapi.json`, parsed once. At start it is fitted to the configuration
/// (the routes `buildRouter` registered, the automation header's name, whether `/metrics` needs a key); per
/// request only the server URL is filled in. A registered route the file does not describe still appears,
/// flagged `x-undocumented`, and `OpenAPIDocumentTests` and `scripts/api-check.sh` fail until it is described.
public struct OpenAPIDocument: Sendable {
    /// A registered route, path in the router's form (`/jobs/{id}`).
    public struct Route: Sendable, Hashable, CustomStringConvertible {
        public var method: String
        public var path: String

        public init(method: String, path: String) {
            self.method = method.uppercased()
            self.path = path
        }

        public var description: String { "\(self.method) \(self.path)" }
    }

    /// `Resources/openapi.json` as written (compiled into the binary): every route the server can register.
    public static let bundled: JSONValue = {
        guard let document = try? JSONDecoder().decode(JSONValue.self, from: Data(PackageResources.openapi_json))
        else {
            // A build defect, not a runtime condition: the file is part of the target and tested.
            preconditionFailure("the bundled openapi.json is not JSON")
        }
        return document
    }()

    /// The routes a document describes.
    public static func routes(in document: JSONValue) -> Set<Route> {
        var routes: Set<Route> = []
        for (path, item) in document.members["paths"]?.members ?? [:] {
            for method in item.members.keys { routes.insert(Route(method: method, path: path)) }
        }
        return routes
    }

    /// The document fitted to this server, without `servers`.
    let document: JSONValue
    /// Routes registered without a description in the bundled document.
    public let undocumentedRoutes: [Route]

    /// - Parameters:
    ///   - routes: what the router registered; the document describes exactly these.
    ///   - automationHeader: the header carrying the automation secret (`ARCANOS_AUTOMATION_HEADER`).
    ///   - metricsRequireKey: `GET /metrics` and `GET /metrics/history` need the operator key
    ///     (`ARCANOS_METRICS_REQUIRE_KEY`).
    public init(routes: [Route], automationHeader: String, metricsRequireKey: Bool = false) {
        var document = Self.bundled.members
        let described = document["paths"]?.members ?? [:]
        var paths: [String: JSONValue] = [:]
        var undocumented: [Route] = []
        for route in Set(routes).sorted(by: { ($0.path, $0.method) < ($1.path, $1.method) }) {
            var item = paths[route.path]?.members ?? [:]
            let method = route.method.lowercased()
            if var operation = described[route.path]?.members[method] {
                if Self.metricsRoutes.contains(route), metricsRequireKey {
                    operation = Self.requiringKey(operation)
                }
                item[method] = operation
            } else {
                undocumented.append(route)
                item[method] = Self.undocumented(route)
            }
            paths[route.path] = .object(item)
        }
        document["paths"] = .object(paths)
        document["components"] = Self.naming(automationHeader, in: document["components"] ?? [:])
        self.document = .object(document)
        self.undocumentedRoutes = undocumented
    }

    /// The document, with `serverURL` as its one server.
    public func json(serverURL: String) -> JSONValue {
        var document = self.document.members
        document["servers"] = [["url": .string(serverURL)]]
        return .object(document)
    }

    /// The routes `ARCANOS_METRICS_REQUIRE_KEY` puts behind the key.
    static let metricsRoutes: Set<Route> = [
        Route(method: "GET", path: "/metrics"), Route(method: "GET", path: "/metrics/history"),
    ]

    /// `GET /metrics` (and its history) behind the operator key: bearer security and the shared 401 response.
    private static func requiringKey(_ operation: JSONValue) -> JSONValue {
        var members = operation.members
        members["security"] = [["bearerAuth": []]]
        var responses = members["responses"]?.members ?? [:]
        responses["401"] = ["$ref": "#/components/responses/Unauthorized"]
        members["responses"] = .object(responses)
        return .object(members)
    }

    private static func naming(_ automationHeader: String, in components: JSONValue) -> JSONValue {
        var components = components.members
        var schemes = components["securitySchemes"]?.members ?? [:]
        var automation = schemes["automationSecret"]?.members ?? [:]
        automation["name"] = .string(automationHeader)
        schemes["automationSecret"] = .object(automation)
        components["securitySchemes"] = .object(schemes)
        return .object(components)
    }

    private static func undocumented(_ route: Route) -> JSONValue {
        let words = route.path.split(whereSeparator: { !$0.isLetter && !$0.isNumber }).map { $0.capitalized }
        return [
            "operationId": .string(route.method.lowercased() + words.joined()),
            "summary": "Undocumented route",
            "description": "This route has no description yet.",
            "x-undocumented": true,
            "responses": ["default": ["description": "Any response."]],
        ]
    }
}

extension JSONValue {
    /// The members of an object; empty for anything else.
    var members: [String: JSONValue] {
        if case .object(let members) = self { return members }
        return [:]
    }
}
