import ArcanosCore
import ArcanosTesting
import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import Testing

/// The port of a live server's base URL (`http://127.0.0.1:<port>`).
func port(of baseURL: String) -> Int {
    Int(baseURL.split(separator: ":").last ?? "") ?? 0
}

/// Sends `request` as raw bytes (optionally half-closing after it) and reads the first response.
func rawExchange(_ baseURL: String, _ request: String, halfClose: Bool = false) async throws -> RawResponse? {
    let connection = try RawConnection(port: port(of: baseURL))
    try connection.send(request)
    if halfClose { connection.shutdownWrite() }
    return await connection.response()
}

func sendRequest(
    _ url: String,
    method: HTTPMethod = .POST,
    body: String? = nil,
    headers: [String: String] = [:]
) async throws -> LiveResponse {
    var request = HTTPClientRequest(url: url)
    request.method = method
    for (name, value) in headers { request.headers.add(name: name, value: value) }
    if let body { request.body = .bytes(ByteBuffer(string: body)) }
    return try await send(request)
}

/// Issue 16, finding 3: a request whose body cannot be read — framing the server does not accept, a body over
/// a limit — is a 4xx JSON answer on every route, `/health` included, never a 500.
@Suite(.serialized, .timeLimit(.minutes(3))) struct MalformedRequestTests {
    static let environment = ["ARCANOS_MAX_BODY_BYTES": "1024", "SELF_TEST_INTERVAL_MS": "0"]

    func expectJSONError(
        _ response: RawResponse?,
        _ status: Int,
        _ code: String,
        sourceLocation: SourceLocation = #_sourceLocation
    ) {
        #expect(response?.status == status, "\(String(describing: response))", sourceLocation: sourceLocation)
        #expect(
            response?.headers["content-type"]?.hasPrefix("application/json") == true,
            sourceLocation: sourceLocation
        )
        #expect(response?.json["error"] as? String == code, sourceLocation: sourceLocation)
    }

    @Test(arguments: ["GET /health", "POST /ask", "POST /workers/heal"])
    func aChunkedBodyOverTheLimitIs413(_ route: String) async throws {
        try await withLiveServer(environment: Self.environment) { server in
            let chunk = String(repeating: "x", count: 2000)
            let response = try await rawExchange(
                server,
                "\(route) HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\ncontent-type: application/json\r\n"
                    + "Transfer-Encoding: chunked\r\n\r\n\(String(chunk.count, radix: 16))\r\n\(chunk)\r\n0\r\n\r\n"
            )
            self.expectJSONError(response, 413, "payload_too_large")
        }
    }

    @Test(arguments: ["GET /health", "POST /ask"])
    func aBadChunkSizeIs400(_ route: String) async throws {
        try await withLiveServer(environment: Self.environment) { server in
            let response = try await rawExchange(
                server,
                "\(route) HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\ncontent-type: application/json\r\n"
                    + "Transfer-Encoding: chunked\r\n\r\nzz\r\n{}\r\n0\r\n\r\n"
            )
            #expect(response?.status == 400, "\(String(describing: response))")
            #expect(response.map { $0.status < 500 } ?? true)
        }
    }

    @Test(arguments: ["GET /health", "POST /ask"])
    func anUnsupportedTransferCodingIsA4xx(_ route: String) async throws {
        try await withLiveServer(environment: Self.environment) { server in
            let response = try await rawExchange(
                server,
                "\(route) HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\ncontent-type: application/json\r\n"
                    + "Transfer-Encoding: gzip\r\n\r\n{\"prompt\":\"hi\"}",
                halfClose: true
            )
            let status = try #require(response?.status, "no response")
            #expect((400..<500).contains(status), "\(String(describing: response))")
        }
    }

    @Test(arguments: ["GET /health", "POST /ask", "POST /workers/heal"])
    func aBodyShorterThanItsContentLengthThenAHalfCloseIs400(_ route: String) async throws {
        try await withLiveServer(environment: Self.environment) { server in
            let response = try await rawExchange(
                server,
                "\(route) HTTP/1.1\r\nHost: 127.0.0.1\r\ncontent-type: application/json\r\nContent-Length: 100\r\n\r\n"
                    + "{\"prompt\":",
                halfClose: true
            )
            self.expectJSONError(response, 400, "invalid_request")
        }
    }

    /// The self-test route's own 4 KiB limit: 413 with the gate's status, as every gated response has.
    @Test(arguments: [4097, 8000])
    func aSelfTestBodyOverItsLimitIs413WithTheGateStatus(_ size: Int) async throws {
        try await withLiveServer(environment: Self.environment.merging(["ARCANOS_MAX_BODY_BYTES": "65536"]) { $1 }) {
            server in
            let body = "{" + String(repeating: " ", count: size - 2) + "}"
            let response = try await post(server + "/devops/self-test", json: body, headers: ["x-confirmed": "yes"])
            #expect(response.status == 413)
            #expect(response.json["error"] as? String == "payload_too_large")
            #expect(response.headers["x-confirmation-status"] == "confirmed")
        }
    }
}

/// Issue 16, finding 5: a key repeated in an object is a 400 on every route; no route picks one of the values.
@Suite(.serialized, .timeLimit(.minutes(3))) struct DuplicateKeyTests {
    static let workers = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("../../workers").standardized.path

    @Test(arguments: [
        ("/workers/heal", #"{"execute": true, "execute": false}"#),
        ("/jobs", #"{"worker":"uppercase","worker":"x","input":"a"}"#),
        ("/workers/run/uppercase", #"{"input":"a","input":"b"}"#),
        ("/ask", #"{"prompt":"a","prompt":"b"}"#),
        ("/devops/self-test", #"{"a":1,"\u0061":2}"#),
        ("/workers/heal", #"{"mode":"plan","nested":{"x":1,"x":2}}"#),
    ])
    func aRepeatedKeyIs400(_ path: String, _ body: String) async throws {
        let environment = ["ARCANOS_WORKERS_DIR": Self.workers, "WORKER_COUNT": "1", "SELF_TEST_INTERVAL_MS": "0"]
        try await withLiveServer(environment: environment) { server in
            let response = try await post(server + path, json: body, headers: ["x-confirmed": "yes"])
            #expect(response.status == 400, "\(response.body)")
            #expect(response.json["error"] as? String == "invalid_request")
            #expect((response.json["message"] as? String)?.contains("repeats") == true)
        }
    }
}

/// Issue 16, finding 6: a keyless loopback server is no target for other web pages — bodies must be JSON,
/// only loopback hosts are served, and nothing grants cross-origin access.
@Suite(.serialized, .timeLimit(.minutes(3))) struct CrossSiteDefenceTests {
    @Test(arguments: [
        ("/ask", "text/plain", #"{"prompt":"hi"}"#),
        ("/ask", "application/x-www-form-urlencoded", "prompt=hi"),
        ("/jobs", "text/plain", #"{"worker":"uppercase","input":"a"}"#),
        ("/workers/heal", "multipart/form-data; boundary=x", "--x\r\n\r\n{}\r\n--x--"),
    ])
    func aBodyThatIsNotJSONIs415(_ path: String, _ contentType: String, _ body: String) async throws {
        try await withLiveServer(environment: ["SELF_TEST_INTERVAL_MS": "0"]) { server in
            let response = try await sendRequest(
                server + path,
                body: body,
                headers: ["content-type": contentType, "x-confirmed": "yes"]
            )
            #expect(response.status == 415, "\(response.body)")
            #expect(response.json["error"] as? String == "unsupported_media_type")
            #expect(response.headers["access-control-allow-origin"] == nil)
        }
    }

    /// An empty-bodied POST needs no preflight, so a foreign page could send one; it is refused by its Origin.
    @Test func withoutKeysAForeignPageIsRefused() async throws {
        try await withLiveServer(environment: ["ALLOW_ALL_GPTS": "true", "SELF_TEST_INTERVAL_MS": "0"]) { server in
            let foreign = try await sendRequest(server + "/workers/heal", headers: ["origin": "https://evil.example"])
            #expect(foreign.status == 403, "\(foreign.body)")
            #expect(foreign.json["error"] as? String == "forbidden")
            let local = try await sendRequest(server + "/workers/heal", headers: ["origin": "http://localhost:8080"])
            #expect(local.status == 200, "\(local.body)")
        }
    }

    @Test func anEmptyBodyNeedsNoType() async throws {
        try await withLiveServer(environment: ["SELF_TEST_INTERVAL_MS": "0"]) { server in
            let response = try await sendRequest(server + "/workers/heal", headers: ["x-confirmed": "yes"])
            #expect(response.status == 200, "\(response.body)")
        }
    }

    @Test(arguments: ["evil.example", "evil.example:8080", "127.0.0.1.evil.example", "127.evil.example", "[::2]:80"])
    func withoutKeysAForeignHostIsRefused(_ host: String) async throws {
        try await withLiveServer(environment: ["SELF_TEST_INTERVAL_MS": "0"]) { server in
            let response = try await rawExchange(
                server,
                "POST /workers/heal HTTP/1.1\r\nHost: \(host)\r\nConnection: close\r\nx-confirmed: yes\r\n"
                    + "content-length: 0\r\n\r\n"
            )
            #expect(response?.status == 403, "\(String(describing: response))")
            #expect(response?.json["error"] as? String == "forbidden")
            let health = try await rawExchange(
                server,
                "GET /health HTTP/1.1\r\nHost: \(host)\r\nConnection: close\r\n\r\n"
            )
            #expect(health?.status == 403)
        }
    }

    @Test(arguments: ["localhost", "localhost:8080", "127.0.0.1", "127.1.2.3:80", "[::1]:8080", "app.localhost"])
    func loopbackHostsAreServed(_ host: String) async throws {
        try await withLiveServer(environment: ["SELF_TEST_INTERVAL_MS": "0"]) { server in
            let response = try await rawExchange(
                server,
                "GET /health HTTP/1.1\r\nHost: \(host)\r\nConnection: close\r\n\r\n"
            )
            #expect(response?.status == 200, "\(String(describing: response))")
        }
    }

    @Test func withKeysAnyHostIsServed() async throws {
        try await withLiveServer(environment: ["ARCANOS_API_KEYS": "k-1", "SELF_TEST_INTERVAL_MS": "0"]) { server in
            let response = try await rawExchange(
                server,
                "GET /health HTTP/1.1\r\nHost: arcanos.example\r\nConnection: close\r\n\r\n"
            )
            #expect(response?.status == 200)
        }
    }

    @Test func aPreflightGetsNoCORSHeaders() async throws {
        try await withLiveServer(environment: ["SELF_TEST_INTERVAL_MS": "0"]) { server in
            let response = try await sendRequest(
                server + "/ask",
                method: .OPTIONS,
                headers: ["origin": "https://evil.example", "access-control-request-method": "POST"]
            )
            #expect(response.status >= 400 && response.status < 500)
            #expect(response.headers.keys.allSatisfy { !$0.hasPrefix("access-control-") })
        }
    }
}

/// Issue 16, finding 2: a model id that passes the gate is a credential, and never on a public surface.
@Suite(.timeLimit(.minutes(2))) struct PublicCredentialTests {
    static let fineTuned = "ft:gpt-4o-mini-2024-07-18:acme:ops-bot:AbC123xy"

    @Test func aTrustedModelIdIsShownOnlyAsItsAlias() async throws {
        let fake = FakeOpenAIServer(mode: .ok)
        try await fake.withRunning { baseURL in
            let environment = [
                "OPENAI_API_KEY": "test-key", "OPENAI_BASE_URL": baseURL, "AI_MODEL": Self.fineTuned,
                "TRUSTED_GPT_IDS": "g-operator-gpt", "FALLBACK_MODEL": "g-operator-gpt", "SELF_TEST_INTERVAL_MS": "0",
            ]
            try await withLiveServer(environment: environment) { server in
                // A call so that the model metrics carry the model label.
                _ = try await post(server + "/ask", json: #"{"prompt":"hello"}"#)
                let status = try await get(server + "/workers/status")
                #expect(status.status == 200)
                #expect(!status.body.contains(Self.fineTuned) && !status.body.contains("g-operator-gpt"))
                #expect(status.json[path: "system.model"] as? String == "trusted-model-2")
                let metrics = try await get(server + "/metrics")
                #expect(metrics.body.contains(#"model="trusted-model-2""#))
                #expect(!metrics.body.contains(Self.fineTuned) && !metrics.body.contains("g-operator-gpt"))
                let openAPI = try await get(server + "/openapi.json")
                #expect(!openAPI.body.contains(Self.fineTuned))
                // The detail view (a loopback client on a keyless server) may show it.
                let detail = try await get(server + "/workers/status?view=detail")
                #expect(detail.json[path: "system.model"] as? String == Self.fineTuned)
            }
        }
    }
}

/// Issue 16, finding 8: a connection that sends nothing, or trickles a request, is closed.
@Suite(.timeLimit(.minutes(1))) struct ConnectionTimeoutTests {
    @Test(arguments: ["", "GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n"])
    func aSilentOrSlowConnectionIsClosed(_ prefix: String) async throws {
        let environment = ["ARCANOS_HTTP_IDLE_TIMEOUT_MS": "300", "SELF_TEST_INTERVAL_MS": "0"]
        try await withLiveServer(environment: environment) { server in
            let connection = try RawConnection(port: port(of: server), receiveTimeout: .seconds(10))
            if !prefix.isEmpty { try connection.send(prefix) }
            let start = ContinuousClock.now
            let (bytes, closed) = await connection.readUntilClosed()
            #expect(closed, "the server kept the connection open")
            #expect(bytes.isEmpty)
            #expect(start.duration(to: .now) < .seconds(8))
        }
    }

    /// The idle timeout is long here: only the header deadline can close a connection whose head never ends.
    @Test func aHeadThatNeverEndsIsClosedByTheHeaderDeadline() async throws {
        let environment = [
            "ARCANOS_HTTP_IDLE_TIMEOUT_MS": "600000", "ARCANOS_HTTP_HEADER_TIMEOUT_MS": "300",
            "SELF_TEST_INTERVAL_MS": "0",
        ]
        try await withLiveServer(environment: environment) { server in
            let connection = try RawConnection(port: port(of: server), receiveTimeout: .seconds(20))
            try connection.send("GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nx-slow: 1")
            let start = ContinuousClock.now
            let (bytes, closed) = await connection.readUntilClosed()
            #expect(closed && bytes.isEmpty, "the server kept the connection open")
            #expect(start.duration(to: .now) < .seconds(15))
            // A complete head in time is served as usual.
            let served = try await rawExchange(
                server,
                "GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
            )
            #expect(served?.status == 200)
        }
    }

    @Test func anIdleKeepAliveConnectionIsClosedAfterItsResponse() async throws {
        let environment = ["ARCANOS_HTTP_IDLE_TIMEOUT_MS": "300", "SELF_TEST_INTERVAL_MS": "0"]
        try await withLiveServer(environment: environment) { server in
            let connection = try RawConnection(port: port(of: server), receiveTimeout: .seconds(10))
            try connection.send("GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
            let (bytes, closed) = await connection.readUntilClosed()
            #expect(RawResponse(bytes)?.status == 200)
            #expect(closed, "the idle connection stayed open")
        }
    }
}

/// Issue 16, finding 9: a challenge is good for one try wherever that try ends, and every gated response
/// says what the gate made of it.
@Suite(.serialized, .timeLimit(.minutes(3))) struct GateEdgeTests {
    static let key = "operator-key-1"

    func challenge(_ server: String, _ path: String = "/workers/heal") async throws -> String {
        let pending = try await post(server + path, json: "{}", headers: ["authorization": "Bearer \(Self.key)"])
        #expect(pending.status == 403)
        return try #require(pending.headers["x-confirmation-challenge"])
    }

    @Test func aChallengeTriedWithoutAKeyIsBurnt() async throws {
        try await withLiveServer(environment: ["ARCANOS_API_KEYS": Self.key, "SELF_TEST_INTERVAL_MS": "0"]) { server in
            let id = try await self.challenge(server)
            let unauthenticated = try await post(
                server + "/workers/heal",
                json: "{}",
                headers: ["x-confirmed": "token:\(id)"]
            )
            #expect(unauthenticated.status == 401)
            #expect(unauthenticated.headers["x-confirmation-status"] == "unchecked")
            let retried = try await post(
                server + "/workers/heal",
                json: "{}",
                headers: ["authorization": "Bearer \(Self.key)", "x-confirmed": "token:\(id)"]
            )
            #expect(retried.status == 403, "the challenge was used up by the try without a key")
        }
    }

    @Test func aChallengeTriedWithTheWrongMethodIsBurnt() async throws {
        try await withLiveServer(environment: ["ARCANOS_API_KEYS": Self.key, "SELF_TEST_INTERVAL_MS": "0"]) { server in
            let id = try await self.challenge(server)
            let wrongMethod = try await sendRequest(
                server + "/workers/heal",
                method: .PUT,
                body: "{}",
                headers: [
                    "authorization": "Bearer \(Self.key)", "x-confirmed": "token:\(id)",
                    "content-type": "application/json",
                ]
            )
            #expect(wrongMethod.status == 405)
            let retried = try await post(
                server + "/workers/heal",
                json: "{}",
                headers: ["authorization": "Bearer \(Self.key)", "x-confirmed": "token:\(id)"]
            )
            #expect(retried.status == 403)
        }
    }

    @Test func aGatedRouteOverTheBodyLimitCarriesTheGateStatus() async throws {
        let environment = ["ARCANOS_MAX_BODY_BYTES": "1024", "SELF_TEST_INTERVAL_MS": "0"]
        try await withLiveServer(environment: environment) { server in
            let body = #"{"mode":"plan","pad":""# + String(repeating: "x", count: 2000) + #""}"#
            let response = try await post(server + "/workers/heal", json: body, headers: ["x-confirmed": "yes"])
            #expect(response.status == 413)
            #expect(response.headers["x-confirmation-status"] == "unchecked")
            let ungated = try await post(server + "/ask", json: body)
            #expect(ungated.status == 413)
            #expect(ungated.headers["x-confirmation-status"] == nil)
        }
    }

    @Test func theDetailViewShowsTheWorkersDirectoryRelativeToTheDataDirectory() async throws {
        let workers = makeTemporaryDirectory()
        try await withLiveServer(environment: ["ARCANOS_WORKERS_DIR": workers, "SELF_TEST_INTERVAL_MS": "0"]) {
            server in
            let detail = try await get(server + "/workers/status?view=detail")
            #expect(detail.status == 200)
            let directory = try #require(detail.json["workersDirectory"] as? String)
            #expect(!directory.hasPrefix("/") && directory.hasSuffix(URL(fileURLWithPath: workers).lastPathComponent))
            #expect(!detail.body.contains(workers))
        }
    }
}

/// Issue 11, item 6: wrong automation secrets are rate limited per client address, on the heal route's limiter.
@Suite(.timeLimit(.minutes(1))) struct ConfirmTokenRateLimitTests {
    @Test func repeatedWrongSecretsGet429AndThenEvenTheRightOneWaits() async throws {
        let environment = [
            "ARCANOS_AUTOMATION_SECRET": "the-automation-secret-0123456789",
            "ARCANOS_CONFIRM_TOKEN_RATE_LIMIT_MAX": "3",
            "SELF_TEST_INTERVAL_MS": "0",
        ]
        try await withLiveServer(environment: environment) { server in
            for _ in 0..<3 {
                let wrong = try await sendRequest(
                    server + "/confirm/tokens",
                    headers: ["x-arcanos-automation": "guess"]
                )
                #expect(wrong.status == 403)
            }
            let limited = try await sendRequest(server + "/confirm/tokens", headers: ["x-arcanos-automation": "guess"])
            #expect(limited.status == 429)
            #expect(limited.json["error"] as? String == "rate_limited")
            #expect(Int(limited.headers["retry-after"] ?? "") ?? 0 >= 1)
            let right = try await sendRequest(
                server + "/confirm/tokens",
                headers: ["x-arcanos-automation": "the-automation-secret-0123456789"]
            )
            #expect(right.status == 429, "a limited address is refused before its secret is checked")
        }
    }

    @Test func rightSecretsAreNotCounted() async throws {
        let environment = [
            "ARCANOS_AUTOMATION_SECRET": "the-automation-secret-0123456789",
            "ARCANOS_CONFIRM_TOKEN_RATE_LIMIT_MAX": "1",
            "SELF_TEST_INTERVAL_MS": "0",
        ]
        try await withLiveServer(environment: environment) { server in
            for _ in 0..<3 {
                let minted = try await sendRequest(
                    server + "/confirm/tokens",
                    headers: ["x-arcanos-automation": "the-automation-secret-0123456789"]
                )
                #expect(minted.status == 201)
            }
        }
    }
}
