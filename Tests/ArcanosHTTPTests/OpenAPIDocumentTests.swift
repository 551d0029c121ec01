import ArcanosApp
import ArcanosCore
import ArcanosHTTP
import ArcanosTesting
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import Testing

@Suite(.timeLimit(.minutes(1))) struct OpenAPIDocumentTests {
    func document(_ harness: RouterHarness) async throws -> [String: Any] {
        try await harness.makeApplication().test(.router) { client in
            let response = try await client.execute(uri: "/openapi.json", method: .get)
            #expect(response.status == .ok)
            #expect(response.headers[.contentType]?.hasPrefix("application/json") == true)
            return try #require(
                try JSONSerialization.jsonObject(with: Data(String(buffer: response.body).utf8)) as? [String: Any]
            )
        }
    }

    /// The routes the whole server registered, as `METHOD /path/{param}`.
    func registeredRoutes(_ harness: RouterHarness) -> Set<String> {
        Set(harness.server.routes)
    }

    @Test func documentsExactlyTheRoutesTheRouterServes() async throws {
        let harness = RouterHarness(provider: ScriptedLLMProvider())
        let document = try await self.document(harness)
        let paths = try #require(document["paths"] as? [String: [String: Any]])
        var documented: Set<String> = []
        for (path, item) in paths {
            for method in item.keys { documented.insert("\(method.uppercased()) \(path)") }
        }
        let registered = self.registeredRoutes(harness)
        #expect(documented == registered)
        for route in [
            "GET /health", "GET /ready", "POST /ask", "GET /ask", "GET /metrics", "GET /openapi.json", "GET /",
            "GET /dashboard.css", "GET /dashboard.js",
        ] {
            #expect(registered.contains(route), "\(route) is not registered")
        }
        // Every route has a real description, not the placeholder of an undocumented one.
        for (path, item) in paths {
            for (method, operation) in item {
                let operation = try #require(operation as? [String: Any])
                #expect(operation["x-undocumented"] == nil, "\(method.uppercased()) \(path) has no OpenAPI entry")
            }
        }
    }

    @Test func isImportableAsGPTActions() async throws {
        let document = try await self.document(RouterHarness(provider: ScriptedLLMProvider()))
        #expect(document["openapi"] as? String == "3.1.0")
        let servers = try #require(document["servers"] as? [[String: Any]])
        // The request's authority (the test client sends `localhost`), as an absolute URL.
        #expect(servers.first?["url"] as? String == "http://localhost")
        var operationIDs: Set<String> = []
        for (_, item) in try #require(document["paths"] as? [String: [String: [String: Any]]]) {
            for (_, operation) in item {
                let id = try #require(operation["operationId"] as? String)
                #expect(operationIDs.insert(id).inserted, "operationId \(id) is not unique")
                let description = try #require(operation["description"] as? String)
                #expect(!description.isEmpty && description.count <= 300)
                #expect(operation["responses"] is [String: Any])
            }
        }
        let components = try #require(document["components"] as? [String: Any])
        let schemes = try #require(components["securitySchemes"] as? [String: [String: Any]])
        #expect(schemes["bearerAuth"]?["scheme"] as? String == "bearer")
        #expect(schemes["automationSecret"]?["name"] as? String == "x-arcanos-automation")
    }

    @Test func describesTheErrorTheDegradedAndTheConfirmationBodies() async throws {
        let document = try await self.document(RouterHarness(provider: ScriptedLLMProvider()))
        let schemas = try #require((document["components"] as? [String: Any])?["schemas"] as? [String: [String: Any]])
        for name in ["Error", "DegradedAnswer", "ConfirmationRequired"] {
            #expect(schemas[name] != nil, "\(name) is missing")
        }
        let ask = try #require((document["paths"] as? [String: [String: [String: Any]]])?["/ask"]?["post"])
        let responses = try #require(ask["responses"] as? [String: [String: Any]])
        let degraded = try #require(responses["503"]?["content"] as? [String: [String: [String: String]]])
        #expect(degraded["application/json"]?["schema"]?["$ref"] == "#/components/schemas/DegradedAnswer")
        #expect(responses["401"] != nil && responses["400"] != nil)
        #expect(responses["415"] != nil, "a body must be application/json")
        #expect(ask["security"] as? [[String: [String]]] == [["bearerAuth": []]])
        let health = try #require((document["paths"] as? [String: [String: [String: Any]]])?["/health"]?["get"])
        #expect((health["security"] as? [Any])?.isEmpty == true)
    }

    @Test func anUndeclaredMethodOnAKnownPathIs405WithAllow() async throws {
        let harness = RouterHarness(provider: ScriptedLLMProvider())
        try await harness.makeApplication().test(.router) { client in
            let trace = try await client.execute(uri: "/ask", method: .init("TRACE")!)
            #expect(trace.status == .methodNotAllowed)
            #expect(trace.headers[.allow] == "GET, POST")
            #expect(String(buffer: trace.body).contains(#""error":"method_not_allowed""#))
            let delete = try await client.execute(uri: "/health", method: .delete)
            #expect(delete.status == .methodNotAllowed)
            #expect(delete.headers[.allow] == "GET")
            let unknown = try await client.execute(uri: "/nowhere", method: .delete)
            #expect(unknown.status == .notFound)
        }
    }

    @Test func aCustomAutomationHeaderAPublicURLAndAKeyedMetricsRouteAreUsed() async throws {
        let harness = RouterHarness(provider: nil) {
            $0.confirmation.automationHeader = "x-ops-secret"
            $0.observability.publicURL = "https://arcanos.example.com"
            $0.observability.metricsRequireKey = true
        }
        let document = try await self.document(harness)
        #expect((document["servers"] as? [[String: Any]])?.first?["url"] as? String == "https://arcanos.example.com")
        let schemes = (document["components"] as? [String: Any])?["securitySchemes"] as? [String: [String: Any]]
        #expect(schemes?["automationSecret"]?["name"] as? String == "x-ops-secret")
        for path in ["/metrics", "/metrics/history"] {
            let metrics = try #require((document["paths"] as? [String: [String: [String: Any]]])?[path]?["get"])
            #expect(metrics["security"] as? [[String: [String]]] == [["bearerAuth": []]])
            let unauthorized = (metrics["responses"] as? [String: Any])?["401"] as? [String: String]
            #expect(unauthorized?["$ref"] == "#/components/responses/Unauthorized")
        }
        let responses = (document["components"] as? [String: Any])?["responses"] as? [String: Any]
        #expect(responses?["Unauthorized"] != nil)
    }

    /// The routes of a served document, as `METHOD /path/{param}`, and those flagged `x-undocumented`.
    func routes(of document: [String: Any]) throws -> (all: Set<String>, undocumented: Set<String>) {
        let paths = try #require(document["paths"] as? [String: [String: [String: Any]]])
        var all: Set<String> = []
        var undocumented: Set<String> = []
        for (path, item) in paths {
            for (method, operation) in item {
                all.insert("\(method.uppercased()) \(path)")
                if operation["x-undocumented"] != nil { undocumented.insert("\(method.uppercased()) \(path)") }
            }
        }
        return (all, undocumented)
    }

    @Test("The full server's router is described by the bundled document, route for route (issue 12)")
    func theFullServerDocumentsEveryRouteItRegisters() async throws {
        // The real wiring (`ArcanosServer`, as `arcanos serve`): every route group, metrics included. The served
        // document lists exactly the routes its router registered, so a route added without a description in
        // Resources/openapi.json shows up flagged, and one the file describes but nothing serves is missing.
        let body = try await withLiveServer(environment: ["SELF_TEST_INTERVAL_MS": "0"]) { server in
            let response = try await get(server + "/openapi.json")
            #expect(response.status == 200)
            return response.body
        }
        let document = try #require(try JSONSerialization.jsonObject(with: Data(body.utf8)) as? [String: Any])
        let served = try self.routes(of: document)
        #expect(served.undocumented.isEmpty, "routes without a description: \(served.undocumented.sorted())")
        let bundled = Set(OpenAPIDocument.routes(in: OpenAPIDocument.bundled).map(\.description))
        let unbundled = served.all.subtracting(bundled).sorted()
        let unserved = bundled.subtracting(served.all).sorted()
        #expect(
            served.all == bundled,
            "registered, not in the file: \(unbundled); in the file, not served: \(unserved)"
        )
        for route in [
            "GET /", "GET /health", "GET /ready", "POST /ask", "GET /ask", "GET /metrics", "GET /openapi.json",
            "POST /confirm/tokens", "GET /workers/status", "POST /workers/heal", "GET /workers/heals",
            "POST /workers/run/{workerId}", "POST /jobs", "GET /jobs/{id}", "POST /devops/self-test",
            "GET /dashboard.css", "GET /dashboard.js", "GET /metrics/history",
        ] {
            #expect(served.all.contains(route), "\(route) is not served")
        }
    }

    @Test func aRegisteredRouteTheFileDoesNotDescribeIsFlagged() throws {
        let extra = OpenAPIDocument.Route(method: "GET", path: "/not-described")
        let routes = Array(OpenAPIDocument.routes(in: OpenAPIDocument.bundled)) + [extra]
        let document = OpenAPIDocument(routes: routes, automationHeader: "x-arcanos-automation")
        #expect(document.undocumentedRoutes == [extra])
        let data = try JSONEncoder().encode(document.json(serverURL: "http://127.0.0.1"))
        let served = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        #expect(try self.routes(of: served).undocumented == ["GET /not-described"])
    }

    /// A component schema of the bundled document.
    func bundledSchema(_ name: String) throws -> [String: Any] {
        let data = try JSONEncoder().encode(OpenAPIDocument.bundled)
        let document = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        let schemas = (document["components"] as? [String: Any])?["schemas"] as? [String: [String: Any]]
        return try #require(schemas?[name], "no schema \(name)")
    }

    func matches(_ pattern: String, _ text: String) throws -> Bool {
        let expression = try NSRegularExpression(pattern: pattern)
        return expression.firstMatch(in: text, range: NSRange(text.startIndex..., in: text)) != nil
    }

    @Test func theDocumentStatesTheLimitsTheServerEnforces() throws {
        let workerID = try self.bundledSchema("WorkerID")
        #expect(workerID["maxLength"] as? Int == WorkerID.maximumLength)
        let idPattern = try #require(workerID["pattern"] as? String)
        for id in ["a", "arcanos-core", "worker.queue", "A_9", ".hidden", "a/b", "a b", "é", "a..b", ".."] {
            #expect(try self.matches(idPattern, id) == (WorkerID.problem(with: id) == nil), "worker id \(id)")
        }
        let job = try #require(try self.bundledSchema("JobRequest")["properties"] as? [String: [String: Any]])
        #expect(job["input"]?["maxLength"] as? Int == NewJob.maximumInputLength)
        #expect(job["input"]?["type"] as? String == "string")
        let ask = try #require(try self.bundledSchema("AskRequest")["properties"] as? [String: [String: Any]])
        #expect(ask["prompt"]?["maxLength"] as? Int == AskInput.maximumPromptLength)
        // "Not only whitespace" as the server reads it.
        let textPattern = try #require(ask["prompt"]?["pattern"] as? String)
        for text in ["x", " x ", " ", "\t\n", "\u{00A0}", "\u{200B}", "\u{3000}", "\u{85}", "\u{1C}", "\u{2028}"] {
            #expect(try self.matches(textPattern, text) == !text.isBlank, "text \(text.unicodeScalars.map(\.value))")
        }
        let heal = try self.bundledSchema("HealRequest")
        #expect(heal["additionalProperties"] as? Bool == false)
        let healFields = try #require(heal["properties"] as? [String: Any])
        #expect(Set(healFields.keys) == Set(HealRequest.allowedKeys))
    }

    @Test func theRealBodiesMatchTheirSchemas() async throws {
        // The error body and the degraded body, produced by the real routes, carry every required member.
        let harness = RouterHarness(provider: ScriptedLLMProvider(whenEmpty: .fail(LLMFailure(.serverError))))
        let document = try await self.document(harness)
        let schemas = try #require((document["components"] as? [String: Any])?["schemas"] as? [String: [String: Any]])
        var shapes: [String: (required: [String], properties: Set<String>)] = [:]
        for name in ["DegradedAnswer", "Error", "MetricsHistory"] {
            let required = try #require(schemas[name]?["required"] as? [String])
            let properties = try #require(schemas[name]?["properties"] as? [String: Any])
            shapes[name] = (required, Set(properties.keys))
        }
        let bodies = try await harness.makeApplication().test(.router) { client in
            let degraded = try await client.execute(
                uri: "/ask",
                method: .post,
                headers: [.contentType: "application/json"],
                body: ByteBuffer(string: #"{"prompt":"x"}"#)
            )
            let error = try await client.execute(
                uri: "/ask",
                method: .post,
                headers: [.contentType: "application/json"],
                body: ByteBuffer(string: "{")
            )
            let history = try await client.execute(uri: "/metrics/history", method: .get)
            return [
                "DegradedAnswer": String(buffer: degraded.body), "Error": String(buffer: error.body),
                "MetricsHistory": String(buffer: history.body),
            ]
        }
        for (schema, text) in bodies {
            let body = try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
            let shape = try #require(shapes[schema])
            for member in shape.required { #expect(body.keys.contains(member), "\(schema) body lacks \(member)") }
            for member in body.keys {
                #expect(shape.properties.contains(member), "\(schema) does not describe \(member)")
            }
        }
    }
}
