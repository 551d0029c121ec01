import ArcanosCore
import Foundation

/// The OpenAPI 3.1 document of `GET /openapi.json`, importable as GPT Actions (absolute server URL,
/// an `operationId` and a description on every operation).
///
/// It stays true by construction: the document lists exactly the routes the router registered (see
/// `buildRouter`), each described by its entry in `operations`. A registered route without an entry still
/// appears, flagged `x-undocumented`, and `OpenAPIDocumentTests` fails until it is described.
public struct OpenAPIDocument: Sendable {
    /// A registered route, path in the router's form (`/jobs/{id}`).
    public struct Route: Sendable, Hashable {
        public var method: String
        public var path: String

        public init(method: String, path: String) {
            self.method = method.uppercased()
            self.path = path
        }
    }

    public let routes: [Route]
    /// Header carrying the automation secret (`ARCANOS_AUTOMATION_HEADER`).
    public let automationHeader: String
    /// `GET /metrics` needs the operator key (`ARCANOS_METRICS_REQUIRE_KEY`).
    public let metricsRequireKey: Bool

    public init(routes: [Route], automationHeader: String, metricsRequireKey: Bool = false) {
        self.routes = routes
        self.automationHeader = automationHeader
        self.metricsRequireKey = metricsRequireKey
    }

    /// Routes registered without an entry in `operations`.
    public var undocumentedRoutes: [Route] {
        self.routes.filter { Self.operations[Self.key($0)] == nil }
    }

    /// The document, with `serverURL` as its one server.
    public func json(serverURL: String) -> JSONValue {
        var paths: [String: JSONValue] = [:]
        for route in self.routes.sorted(by: { ($0.path, $0.method) < ($1.path, $1.method) }) {
            var item = paths[route.path]?.members ?? [:]
            item[route.method.lowercased()] = self.operation(for: route)
            paths[route.path] = .object(item)
        }
        return [
            "openapi": "3.1.0",
            "info": [
                "title": "Arcanos",
                "version": "1.0.0",
                "description": .string(
                    "A self-healing AI backend: ask the model (with honest degraded answers while it is down), "
                        + "read worker status, get recovery plans and run heals that a person confirmed. "
                        + "Request bodies are JSON (`application/json`, no repeated keys). Without operator keys "
                        + "the server answers only requests addressed to, and pages served from, a loopback host (403 otherwise)."
                ),
            ],
            "servers": [["url": .string(serverURL)]],
            "paths": .object(paths),
            "components": [
                "schemas": .object(Self.schemas),
                "securitySchemes": [
                    "bearerAuth": [
                        "type": "http",
                        "scheme": "bearer",
                        "description": "An operator key from ARCANOS_API_KEYS (required when keys are configured).",
                    ],
                    "automationSecret": [
                        "type": "apiKey",
                        "in": "header",
                        "name": .string(self.automationHeader),
                        "description":
                            "ARCANOS_AUTOMATION_SECRET: marks a trusted automation at the confirmation gate.",
                    ],
                ],
                "headers": .object(Self.headers),
            ],
        ]
    }

    static func key(_ route: Route) -> String { "\(route.method) \(route.path)" }

    private func operation(for route: Route) -> JSONValue {
        guard let definition = Self.operations[Self.key(route)] else {
            return [
                "operationId": .string(Self.fallbackOperationID(route)),
                "summary": "Undocumented route",
                "description": "This route has no description yet.",
                "x-undocumented": true,
                "responses": ["default": ["description": "Any response."]],
            ]
        }
        var operation = definition.json
        guard case .object(var members) = operation else { return operation }
        var security: [JSONValue] = []
        switch definition.access {
        case .public:
            break
        case .apiKey:
            security = [["bearerAuth": []]]
        case .metrics:
            if self.metricsRequireKey { security = [["bearerAuth": []]] }
        case .gated:
            security = [["bearerAuth": []], ["bearerAuth": [], "automationSecret": []]]
        case .automation:
            security = [["automationSecret": []]]
        }
        members["security"] = .array(security)
        var responses = members["responses"]?.members ?? [:]
        if definition.access == .apiKey || definition.access == .gated
            || (definition.access == .metrics && self.metricsRequireKey)
        {
            responses["401"] = responses["401"] ?? Self.errorResponse("Missing or invalid API key.")
        }
        if members["requestBody"] != nil {
            responses["415"] = Self.errorResponse("A body that is not sent as application/json.")
        }
        if definition.access == .gated {
            // Every response of a gated route carries the gate's status, including those it did not decide.
            responses = responses.mapValues(Self.addingConfirmationStatusHeader)
        }
        members["responses"] = .object(responses.mapValues(Self.addingRequestIDHeader))
        operation = .object(members)
        return operation
    }

    private static func addingConfirmationStatusHeader(_ response: JSONValue) -> JSONValue {
        guard case .object(var members) = response else { return response }
        var headers = members["headers"]?.members ?? [:]
        headers["x-confirmation-status"] = ["$ref": "#/components/headers/ConfirmationStatus"]
        members["headers"] = .object(headers)
        return .object(members)
    }

    private static func addingRequestIDHeader(_ response: JSONValue) -> JSONValue {
        guard case .object(var members) = response else { return response }
        var headers = members["headers"]?.members ?? [:]
        headers["x-request-id"] = ["$ref": "#/components/headers/RequestID"]
        members["headers"] = .object(headers)
        return .object(members)
    }

    private static func fallbackOperationID(_ route: Route) -> String {
        let words = route.path.split(whereSeparator: { !$0.isLetter && !$0.isNumber }).map { $0.capitalized }
        return route.method.lowercased() + words.joined()
    }
}

// MARK: - Operations

extension OpenAPIDocument {
    enum Access {
        /// No credentials.
        case `public`
        /// `Authorization: Bearer` when `ARCANOS_API_KEYS` is set.
        case apiKey
        /// Public unless `ARCANOS_METRICS_REQUIRE_KEY`.
        case metrics
        /// API key, then the confirmation gate.
        case gated
        /// The automation secret only.
        case automation
    }

    struct Operation {
        var access: Access
        var json: JSONValue
    }

    static func errorResponse(_ description: String) -> JSONValue {
        [
            "description": .string(description),
            "content": ["application/json": ["schema": ["$ref": "#/components/schemas/Error"]]],
        ]
    }

    static func jsonResponse(_ description: String, _ schema: String, headers: [String: JSONValue] = [:]) -> JSONValue {
        var response: [String: JSONValue] = [
            "description": .string(description),
            "content": ["application/json": ["schema": ["$ref": .string("#/components/schemas/\(schema)")]]],
        ]
        if !headers.isEmpty { response["headers"] = .object(headers) }
        return .object(response)
    }

    static func jsonBody(_ schema: String, required: Bool = true) -> JSONValue {
        [
            "required": .bool(required),
            "content": ["application/json": ["schema": ["$ref": .string("#/components/schemas/\(schema)")]]],
        ]
    }

    static let confirmationHeaders: [JSONValue] = [
        [
            "name": "x-confirmed", "in": "header", "required": false, "schema": ["type": "string", "maxLength": 200],
            "description": "`yes` when a person approved this call, or `token:<challenge id>` from a 403 challenge.",
        ],
        [
            "name": "x-arcanos-confirm-token", "in": "header", "required": false,
            "schema": ["type": "string", "maxLength": 200],
            "description": "A one-time token minted by POST /confirm/tokens.",
        ],
        [
            "name": "x-gpt-id", "in": "header", "required": false, "schema": ["type": "string", "maxLength": 200],
            "description": "The calling GPT's id; trusted ids pass the gate.",
        ],
    ]

    /// Responses every gated route can give besides its own: the 403 challenge. (`operation(for:)` adds the
    /// gate's status header to every response of a gated route.)
    static func gated(_ responses: [String: JSONValue]) -> JSONValue {
        var all = responses
        all["403"] = [
            "description":
                "A person must confirm: relay confirmationChallenge.instructions, then retry with x-confirmed.",
            "headers": [
                "x-confirmation-status": ["$ref": "#/components/headers/ConfirmationStatus"],
                "x-confirmation-challenge": ["$ref": "#/components/headers/ConfirmationChallenge"],
            ],
            "content": ["application/json": ["schema": ["$ref": "#/components/schemas/ConfirmationRequired"]]],
        ]
        return .object(all)
    }

    static let operations: [String: Operation] = [
        "GET /health": Operation(
            access: .public,
            json: [
                "operationId": "getHealth",
                "summary": "Liveness",
                "description": "Answers 200 while the process runs. Touches neither the model nor the store.",
                "responses": ["200": jsonResponse("The process answers.", "Health")],
            ]
        ),
        "GET /ready": Operation(
            access: .public,
            json: [
                "operationId": "getReadiness",
                "summary": "Readiness",
                "description": "200 when every component is ready; 503 with the reasons otherwise.",
                "responses": [
                    "200": jsonResponse("Ready.", "Readiness"),
                    "503": jsonResponse("Not ready; `reasons` says why.", "Readiness"),
                ],
            ]
        ),
        "POST /ask": Operation(
            access: .apiKey,
            json: [
                "operationId": "askModel",
                "summary": "Ask the model",
                "description": .string(
                    "Sends a prompt to the configured model. While the model is unavailable the answer is 503 "
                        + "`status: degraded` (a cached answer, a labelled placeholder, or nothing)."
                ),
                "requestBody": jsonBody("AskRequest"),
                "responses": [
                    "200": jsonResponse("The model's answer.", "AskAnswer"),
                    "400": errorResponse("Malformed JSON, a missing or empty prompt, or a wrong type."),
                    "413": errorResponse("The body is over the size limit."),
                    "503": degradedResponse,
                ],
            ]
        ),
        "GET /ask": Operation(
            access: .apiKey,
            json: [
                "operationId": "askModelByQuery",
                "summary": "Ask the model (query string)",
                "description": "The same as POST /ask with the prompt in the query string, for a quick try.",
                "parameters": [
                    [
                        "name": "prompt", "in": "query", "required": true,
                        "schema": ["type": "string", "minLength": 1, "maxLength": 10000],
                        "description": "The prompt; not only whitespace.",
                    ],
                    [
                        "name": "sessionId", "in": "query", "required": false,
                        "schema": ["type": "string", "maxLength": 200],
                    ],
                ],
                "responses": [
                    "200": jsonResponse("The model's answer.", "AskAnswer"),
                    "400": errorResponse("A missing or empty prompt."),
                    "503": degradedResponse,
                ],
            ]
        ),
        "POST /confirm/tokens": Operation(
            access: .automation,
            json: [
                "operationId": "mintConfirmationToken",
                "summary": "Mint a one-time confirmation token",
                "description": .string(
                    "For trusted automations holding the automation secret: returns a token that approves one "
                        + "gated request through the x-arcanos-confirm-token header."
                ),
                "responses": [
                    "201": jsonResponse("A fresh token.", "ConfirmationToken"),
                    "401": errorResponse("No automation credentials."),
                    "403": errorResponse("The automation credentials were not accepted."),
                    "429": errorResponse("Too many failed attempts from this address; see Retry-After."),
                ],
            ]
        ),
        "GET /metrics": Operation(
            access: .metrics,
            json: [
                "operationId": "getMetrics",
                "summary": "Prometheus metrics",
                "description":
                    "Request rates, errors and latency per route, breaker states, degraded answers, workers, queue, heals and self-tests.",
                "responses": [
                    "200": [
                        "description": "The Prometheus text format, version 0.0.4.",
                        "content": ["text/plain": ["schema": ["type": "string"]]],
                    ]
                ],
            ]
        ),
        "GET /openapi.json": Operation(
            access: .public,
            json: [
                "operationId": "getOpenAPIDocument",
                "summary": "This document",
                "description": "The OpenAPI 3.1 description of every route, importable as GPT Actions.",
                "responses": [
                    "200": [
                        "description": "The document.",
                        "content": ["application/json": ["schema": ["type": "object"]]],
                    ]
                ],
            ]
        ),
        "GET /": Operation(
            access: .public,
            json: [
                "operationId": "getDashboard",
                "summary": "Operator dashboard",
                "description":
                    "An HTML page (with its own stylesheet and script) showing live status, with plan and heal buttons that use the operator's key.",
                "responses": [
                    "200": ["description": "The page.", "content": ["text/html": ["schema": ["type": "string"]]]]
                ],
            ]
        ),
        "GET /dashboard.css": Operation(
            access: .public,
            json: [
                "operationId": "getDashboardStylesheet",
                "summary": "Dashboard stylesheet",
                "description": "The stylesheet the dashboard page links (its CSP allows no inline style).",
                "responses": [
                    "200": ["description": "The stylesheet.", "content": ["text/css": ["schema": ["type": "string"]]]]
                ],
            ]
        ),
        "GET /dashboard.js": Operation(
            access: .public,
            json: [
                "operationId": "getDashboardScript",
                "summary": "Dashboard script",
                "description": "The script the dashboard page runs (its CSP allows no inline script).",
                "responses": [
                    "200": [
                        "description": "The script.", "content": ["text/javascript": ["schema": ["type": "string"]]],
                    ]
                ],
            ]
        ),
        "GET /workers/status": Operation(
            access: .public,
            json: [
                "operationId": "getWorkerStatus",
                "summary": "Worker and auto-heal status",
                "description": .string(
                    "Inventory, pool telemetry, provider breaker, queue, supervisor, self-test and the auto-heal "
                        + "summary. `view=detail` needs an operator key (or loopback when no keys are configured)."
                ),
                "parameters": [
                    [
                        "name": "view", "in": "query", "required": false,
                        "schema": ["type": "string", "enum": ["public", "detail"]],
                        "description": "`detail` adds input previews, results and paths; needs an operator key.",
                    ]
                ],
                "responses": [
                    "200": jsonResponse("The status.", "WorkerStatus"),
                    "400": errorResponse("An unknown view."),
                    "401": errorResponse("`view=detail` without an operator key."),
                ],
            ]
        ),
        "POST /workers/heal": Operation(
            access: .gated,
            json: [
                "operationId": "healWorkers",
                "summary": "Plan or run a heal",
                "description": .string(
                    "Returns a recovery plan. A person gets a plan unless they send execute:true or mode:execute; "
                        + "a trusted automation executes unless it sends mode:plan. Needs confirmation (see 403)."
                ),
                "parameters": .array(confirmationHeaders),
                "requestBody": jsonBody("HealRequest", required: false),
                "responses": gated([
                    "200": jsonResponse("The plan, and what ran.", "HealResponse"),
                    "400": errorResponse("Wrong types, unknown fields or modes, or conflicting flags."),
                    "413": errorResponse("The body is over the size limit."),
                    "429": errorResponse("Too many heals from this caller; see Retry-After."),
                ]),
            ]
        ),
        "GET /workers/heals": Operation(
            access: .apiKey,
            json: [
                "operationId": "listHeals",
                "summary": "Heal audit",
                "description":
                    "Every heal request, plan-only ones too, newest first. Continue with `before=nextBefore`.",
                "parameters": [
                    [
                        "name": "limit", "in": "query", "required": false,
                        "schema": ["type": "integer", "minimum": 1, "maximum": 200],
                    ],
                    ["name": "before", "in": "query", "required": false, "schema": ["type": "integer", "minimum": 1]],
                ],
                "responses": [
                    "200": jsonResponse("A page of the audit.", "HealAuditPage"),
                    "400": errorResponse("A limit or cursor that is not a positive integer in range."),
                ],
            ]
        ),
        "POST /workers/run/{workerId}": Operation(
            access: .gated,
            json: [
                "operationId": "runWorker",
                "summary": "Run one task on a worker",
                "description": .string(
                    "`arcanos`, `arcanos-core` and `worker.queue` dispatch to the pool; a module id runs that "
                        + "module. Waits (bounded) for the result. Needs confirmation (see 403)."
                ),
                "parameters": .array(
                    [
                        [
                            "name": "workerId", "in": "path", "required": true,
                            "schema": ["type": "string", "minLength": 1, "maxLength": 128],
                        ]
                    ] + confirmationHeaders
                ),
                "requestBody": jsonBody("WorkerRunRequest"),
                "responses": gated([
                    "200": jsonResponse("The task's result.", "WorkerRunResult"),
                    "400": errorResponse("An invalid worker id or body."),
                    "404": errorResponse("No such worker."),
                    "413": errorResponse("The body is over the size limit."),
                    "502": jsonResponse(
                        "The task failed (`error: task_failed`): the worker's failure, not the caller's.",
                        "WorkerRunResult"
                    ),
                    "503": errorResponse("The pool cannot take the task now."),
                    "504": jsonResponse(
                        "The task ran out of time (`error: task_timeout`).",
                        "WorkerRunResult"
                    ),
                ]),
            ]
        ),
        "POST /jobs": Operation(
            access: .gated,
            json: [
                "operationId": "enqueueJob",
                "summary": "Enqueue a durable job",
                "description": .string(
                    "Stores the job and returns its id at once; poll GET /jobs/{id} for its state and result. "
                        + "Runs work like POST /workers/run/{workerId}, so it needs the same confirmation (see 403)."
                ),
                "parameters": .array(confirmationHeaders),
                "requestBody": jsonBody("JobRequest"),
                "responses": gated([
                    "202": jsonResponse("Accepted.", "JobAccepted"),
                    "400": errorResponse("An invalid body or worker id."),
                    "404": errorResponse("No such worker."),
                    "413": errorResponse("The body is over the size limit."),
                ]),
            ]
        ),
        "GET /jobs/{id}": Operation(
            access: .apiKey,
            json: [
                "operationId": "getJob",
                "summary": "A job's state",
                "description": "queued, running, succeeded or failed, with attempts, result or error.",
                "parameters": [
                    ["name": "id", "in": "path", "required": true, "schema": ["type": "string", "minLength": 1]]
                ],
                "responses": [
                    "200": jsonResponse("The job.", "Job"),
                    "400": errorResponse("A malformed id."),
                    "404": errorResponse("No such job."),
                ],
            ]
        ),
        "POST /devops/self-test": Operation(
            access: .gated,
            json: [
                "operationId": "runSelfTest",
                "summary": "Run the self-test now",
                "description":
                    "Sends the readiness prompts to this server's /ask and returns the summary. Empty body. Needs confirmation (see 403).",
                "parameters": .array(confirmationHeaders),
                "requestBody": [
                    "required": false,
                    "content": ["application/json": ["schema": ["$ref": "#/components/schemas/EmptyObject"]]],
                ],
                "responses": gated([
                    "200": jsonResponse("The run's summary.", "SelfTestSummary"),
                    "400": errorResponse("A body other than empty or {}."),
                    "413": errorResponse("The body is over the size limit."),
                ]),
            ]
        ),
    ]

    static let degradedResponse: JSONValue = [
        "description": "The model is unavailable: a degraded answer, never a live one.",
        "headers": [
            "Retry-After": ["schema": ["type": "string"], "description": "Seconds until a retry makes sense."],
            "x-arcanos-degraded-reason": ["schema": ["$ref": "#/components/schemas/DegradedReason"]],
        ],
        "content": ["application/json": ["schema": ["$ref": "#/components/schemas/DegradedAnswer"]]],
    ]

    static let headers: [String: JSONValue] = [
        "RequestID": [
            "description": "The id of this request in the server's logs.",
            "schema": ["type": "string"],
        ],
        "ConfirmationStatus": [
            "description":
                "How the confirmation gate decided: pending, the approval's kind, or unchecked when the request was answered before the gate (a missing key, a body over the limit).",
            "schema": [
                "type": "string",
                "enum": [
                    "pending", "auto-allowed", "challenge-token", "one-time-token", "automation-secret", "trusted-gpt",
                    "confirmed", "unchecked",
                ],
            ],
        ],
        "ConfirmationChallenge": [
            "description": "The challenge id to send back as `x-confirmed: token:<id>`.",
            "schema": ["type": "string"],
        ],
    ]
}

// MARK: - Schemas

extension OpenAPIDocument {
    static func object(_ properties: [String: JSONValue], required: [String], closed: Bool = false) -> JSONValue {
        var schema: [String: JSONValue] = [
            "type": "object",
            "properties": .object(properties),
            "required": .array(required.map { .string($0) }),
        ]
        if closed { schema["additionalProperties"] = false }
        return .object(schema)
    }

    static func ref(_ name: String) -> JSONValue { ["$ref": .string("#/components/schemas/\(name)")] }
    static func nullable(_ type: String) -> JSONValue { ["type": [.string(type), "null"]] }
    static func nullable(ref name: String) -> JSONValue { ["anyOf": [ref(name), ["type": "null"]]] }
    static func strings(_ values: [String]) -> JSONValue {
        ["type": "string", "enum": .array(values.map { .string($0) })]
    }
    static let string: JSONValue = ["type": "string"]
    static let integer: JSONValue = ["type": "integer"]
    static let number: JSONValue = ["type": "number"]
    static let boolean: JSONValue = ["type": "boolean"]
    static let timestamp: JSONValue = ["type": "string", "format": "date-time"]
    static let nullableTimestamp: JSONValue = ["type": ["string", "null"], "format": "date-time"]
    static let stringList: JSONValue = ["type": "array", "items": ["type": "string"]]

    static let schemas: [String: JSONValue] = [
        "Error": object(
            [
                "error": ["type": "string", "description": "A stable code, such as invalid_request."],
                "message": ["type": "string", "description": "Safe text for a person."],
                "details": ["description": "Structured specifics, such as which fields are wrong."],
            ],
            required: ["error", "message"]
        ),
        "ConfirmationRequired": object(
            [
                "error": ["const": "Confirmation required"],
                "code": ["const": "CONFIRMATION_REQUIRED"],
                "message": string,
                "endpoint": string,
                "method": string,
                "gptId": nullable("string"),
                "confirmationRequired": ["const": true],
                "confirmationStatus": ["const": "pending"],
                "confirmationChallenge": object(
                    [
                        "id": string,
                        "issuedAt": timestamp,
                        "expiresAt": timestamp,
                        "ttlMs": integer,
                        "instructions": stringList,
                    ],
                    required: ["id", "issuedAt", "expiresAt", "ttlMs", "instructions"]
                ),
                "timestamp": timestamp,
            ],
            required: [
                "error", "code", "endpoint", "method", "gptId", "confirmationRequired", "confirmationStatus",
                "confirmationChallenge", "timestamp",
            ]
        ),
        "DegradedReason": strings(LLMFailure.Kind.allCases.map(\.rawValue)),
        "DegradedAnswer": object(
            [
                "status": ["const": "degraded"],
                "message": string,
                "data": [
                    "anyOf": [
                        object(
                            [
                                "result": string,
                                "activeModel": string,
                                "cachedAt": timestamp,
                                "mock": boolean,
                            ],
                            required: ["result", "mock"]
                        ),
                        ["type": "null"],
                    ]
                ],
                "fallbackMode": strings(FallbackMode.allCases.map(\.rawValue)),
                "reason": ref("DegradedReason"),
                "timestamp": timestamp,
            ],
            required: ["status", "message", "data", "fallbackMode", "reason", "timestamp"]
        ),
        "AskRequest": object(
            [
                "prompt": [
                    "type": "string", "minLength": 1, "maxLength": 10000, "description": "Not only whitespace.",
                ],
                "sessionId": ["type": "string", "maxLength": 200],
                "metadata": ["type": ["object", "null"]],
            ],
            required: ["prompt"]
        ),
        "AskAnswer": object(
            [
                "result": string,
                "activeModel": string,
                "module": string,
                "meta": object(
                    [
                        "id": string,
                        "created": timestamp,
                        "tokens": object(
                            ["promptTokens": integer, "completionTokens": integer, "totalTokens": integer],
                            required: []
                        ),
                    ],
                    required: ["id", "created"]
                ),
            ],
            required: ["result", "activeModel", "module", "meta"]
        ),
        "Health": object(["status": ["const": "ok"], "uptimeSeconds": number], required: ["status", "uptimeSeconds"]),
        "Readiness": object(
            ["status": strings(["ready", "not_ready"]), "reasons": stringList, "error": string],
            required: ["status", "reasons"]
        ),
        "ConfirmationToken": object(["token": string, "expiresAt": timestamp], required: ["token", "expiresAt"]),
        "EmptyObject": ["type": "object", "additionalProperties": false, "maxProperties": 0],
        "Severity": strings(HealSeverity.allCases.map(\.rawValue)),
        "RecoveryAction": strings(RecoveryAction.allCases.map(\.rawValue)),
        "AutoHealSummary": object(
            [
                "status": ref("Severity"),
                "failingWorkers": stringList,
                "lastError": nullable("string"),
                "recommendedAction": ref("RecoveryAction"),
                "message": string,
            ],
            required: ["status", "failingWorkers", "recommendedAction", "message"]
        ),
        "RecoveryPlan": object(
            [
                "planId": string,
                "severity": ref("Severity"),
                "recommendedAction": ref("RecoveryAction"),
                "message": string,
                "steps": ["type": "array", "items": ["type": "string"], "maxItems": 10],
                "fallbackModel": nullable("string"),
                "source": strings(RecoveryPlan.Source.allCases.map(\.rawValue)),
                "generatedAt": timestamp,
            ],
            required: ["planId", "severity", "recommendedAction", "message", "steps", "source", "generatedAt"]
        ),
        "HealRequest": object(
            [
                "execute": nullable("boolean"),
                "mode": ["type": ["string", "null"], "enum": ["plan", "execute", nil]],
                "force": nullable("boolean"),
            ],
            required: [],
            closed: true
        ),
        "HealRestart": object(
            [
                "started": boolean,
                "alreadyRunning": boolean,
                "runWorkers": boolean,
                "workerCount": integer,
                "workerIds": stringList,
                "model": string,
                "startedAt": nullableTimestamp,
                "message": string,
            ],
            required: ["started", "alreadyRunning", "runWorkers", "workerCount", "workerIds", "model", "message"]
        ),
        "HealResponse": object(
            [
                "timestamp": timestamp,
                "plan": ref("RecoveryPlan"),
                "autoHeal": ref("AutoHealSummary"),
                "execution": object(
                    [
                        "restart": ref("HealRestart"),
                        "autoExecuted": boolean,
                        "confirmation": object(
                            ["status": string, "gptId": nullable("string"), "trustedAutomation": boolean],
                            required: ["status"]
                        ),
                        "verified": boolean,
                    ],
                    required: ["autoExecuted", "confirmation", "verified"]
                ),
                "runtime": ["type": "object"],
            ],
            required: ["timestamp", "plan", "autoHeal"]
        ),
        "HealAuditRecord": object(
            [
                "id": string,
                "sequence": integer,
                "requestedAt": timestamp,
                "completedAt": timestamp,
                "caller": ["type": "object"],
                "request": ["type": "object"],
                "plan": ref("RecoveryPlan"),
                "decision": ["type": "object"],
                "outcome": strings(HealAuditRecord.Outcome.allCases.map(\.rawValue)),
                "outcomeDetail": nullable("string"),
            ],
            required: ["id", "requestedAt", "plan", "outcome"]
        ),
        "HealAuditPage": object(
            [
                "heals": ["type": "array", "items": ref("HealAuditRecord")],
                "nextBefore": nullable("integer"),
            ],
            required: ["heals"]
        ),
        "WorkerStatus": object(
            [
                "timestamp": timestamp,
                "workersDirectory": string,
                "totalWorkers": integer,
                "availableWorkers": integer,
                "workers": [
                    "type": "array",
                    "items": object(
                        ["id": string, "description": nullable("string"), "available": boolean],
                        required: ["id", "available"]
                    ),
                ],
                "arcanosWorkers": object(
                    [
                        "enabled": boolean,
                        "count": integer,
                        "model": string,
                        "status": strings(["Active", "Pending", "Disabled"]),
                        "runtime": ["type": "object"],
                    ],
                    required: ["enabled", "count", "status"]
                ),
                "system": ["type": "object"],
                "autoHeal": ref("AutoHealSummary"),
                "selfTest": ["type": ["object", "null"]],
                "provider": ["type": ["object", "null"]],
                "queue": ["type": ["object", "null"]],
                "supervisor": ["type": ["object", "null"]],
                "lastHeal": ["type": ["object", "null"]],
            ],
            required: ["timestamp", "totalWorkers", "availableWorkers", "workers", "arcanosWorkers", "autoHeal"]
        ),
        "WorkerRunRequest": object(
            [
                "input": ["type": "string", "minLength": 1],
                "prompt": ["type": "string", "minLength": 1],
                "text": ["type": "string", "minLength": 1],
            ],
            required: []
        ),
        "WorkerRunResult": object(
            [
                "success": boolean,
                "workerId": string,
                "result": [:],
                "executionTime": ["type": ["number", "string"]],
                "timestamp": timestamp,
                "jobId": nullable("string"),
                "error": ["type": ["string", "null"], "enum": ["task_failed", "task_timeout", .null]],
                "message": nullable("string"),
            ],
            required: ["success", "workerId", "timestamp"]
        ),
        "JobRequest": object(
            ["worker": ["type": "string", "minLength": 1], "input": [:]],
            required: ["worker", "input"]
        ),
        "JobAccepted": object(["id": string], required: ["id"]),
        "Job": object(
            [
                "id": string,
                "status": strings(["queued", "running", "succeeded", "failed"]),
                "attempts": integer,
                "result": [:],
                "error": nullable("string"),
                "createdAt": timestamp,
                "updatedAt": timestamp,
            ],
            required: ["id", "status", "attempts", "createdAt", "updatedAt"]
        ),
        "SelfTestResult": object(
            [
                "id": string,
                "prompt": string,
                "expectation": string,
                "statusCode": nullable("integer"),
                "latencyMs": integer,
                "success": boolean,
                "message": string,
                "activeModel": nullable("string"),
                "timestamp": timestamp,
            ],
            required: ["id", "success", "latencyMs", "message"]
        ),
        "SelfTestSummary": object(
            [
                "triggeredBy": strings(["interval", "api", "cli"]),
                "baseUrl": string,
                "targetModel": string,
                "lastRun": timestamp,
                "completedAt": timestamp,
                "passCount": integer,
                "failCount": integer,
                "results": ["type": "array", "items": ref("SelfTestResult")],
                "status": strings(["pass", "fail"]),
            ],
            required: ["triggeredBy", "lastRun", "completedAt", "passCount", "failCount", "results", "status"]
        ),
    ]
}

extension JSONValue {
    /// The members of an object; empty for anything else.
    var members: [String: JSONValue] {
        if case .object(let members) = self { return members }
        return [:]
    }
}
