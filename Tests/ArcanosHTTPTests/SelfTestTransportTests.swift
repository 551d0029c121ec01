import ArcanosCore
import ArcanosLLM
import AsyncHTTPClient
import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import Testing

/// `HTTPClientSelfTestTransport` against a real loopback server that misbehaves: the limits the self-test
/// promises (no redirects, a response cap, a per-prompt deadline) hold on real sockets.
@Suite(.timeLimit(.minutes(1))) struct SelfTestTransportTests {
    /// Runs a server whose `/redirect/ask`, `/big/ask`, `/hang/ask` and `/ok/ask` misbehave as named.
    func withServer<Result: Sendable>(
        _ body: @Sendable (_ baseURL: String) async throws -> Result
    ) async throws -> Result {
        let router = Router()
        router.post("/redirect/ask") { _, _ -> Response in
            Response(status: .found, headers: [.location: "/ok/ask"])
        }
        router.post("/big/ask") { _, _ -> Response in
            let body = #"{"result":""# + String(repeating: "a", count: 300 * 1024) + #""}"#
            return Response(
                status: .ok,
                headers: [.contentType: "application/json"],
                body: .init(byteBuffer: ByteBuffer(string: body))
            )
        }
        router.post("/hang/ask") { _, _ -> Response in
            try await Task.sleep(for: .seconds(3600))
            return Response(status: .ok)
        }
        router.post("/ok/ask") { _, _ -> Response in
            Response(
                status: .ok,
                headers: [.contentType: "application/json"],
                body: .init(byteBuffer: ByteBuffer(string: #"{"result":"fine","activeModel":"m"}"#))
            )
        }
        let (ports, continuation) = AsyncStream.makeStream(of: Int.self)
        var logger = Logger(label: "test")
        logger.logLevel = .critical
        let application = Application(
            router: router,
            configuration: .init(address: .hostname("127.0.0.1", port: 0)),
            onServerRunning: { continuation.yield($0.localAddress?.port ?? 0) },
            logger: logger
        )
        return try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await application.run() }
            var iterator = ports.makeAsyncIterator()
            guard let port = await iterator.next() else { throw CancellationError() }
            defer { group.cancelAll() }
            return try await body("http://127.0.0.1:\(port)")
        }
    }

    func request(_ url: String, timeout: Duration = .seconds(5)) -> SelfTestHTTPRequest {
        SelfTestHTTPRequest(
            url: url,
            headers: [:],
            body: Data("{}".utf8),
            timeout: timeout,
            maximumResponseBytes: 256 * 1024
        )
    }

    @Test func aRedirectIsReturnedNotFollowedAndFailsThePrompt() async throws {
        let client = HTTPClientSelfTestTransport.makeHTTPClient()
        let transport = HTTPClientSelfTestTransport(httpClient: client)
        let response = try await self.withServer { base in
            try await transport.post(self.request(base + "/redirect/ask"))
        }
        try await client.shutdown()
        #expect(response.statusCode == 302)
        #expect(response.headers["location"] == "/ok/ask")
    }

    @Test func anAnswerOver256KiBIsAnError() async throws {
        let client = HTTPClientSelfTestTransport.makeHTTPClient()
        let transport = HTTPClientSelfTestTransport(httpClient: client)
        let outcome = try await self.withServer { base in
            await #expect(throws: SelfTestTransportError.responseTooLarge(limit: 256 * 1024)) {
                try await transport.post(self.request(base + "/big/ask"))
            }
            return try await transport.post(self.request(base + "/ok/ask"))
        }
        try await client.shutdown()
        #expect(outcome.statusCode == 200)
    }

    @Test func aHangingServerTimesOutAtThePerPromptDeadline() async throws {
        let client = HTTPClientSelfTestTransport.makeHTTPClient()
        let transport = HTTPClientSelfTestTransport(httpClient: client)
        let elapsed = try await self.withServer { base in
            let start = ContinuousClock.now
            await #expect(throws: SelfTestTransportError.timeout(.milliseconds(300))) {
                try await transport.post(self.request(base + "/hang/ask", timeout: .milliseconds(300)))
            }
            return start.duration(to: .now)
        }
        try await client.shutdown()
        // Far below anything but the 300 ms deadline, with room for a loaded machine running the suite in parallel.
        #expect(elapsed < .seconds(4), "took \(elapsed)")
    }

    @Test func nothingListeningIsAConnectionFailureAtOnce() async throws {
        let client = HTTPClientSelfTestTransport.makeHTTPClient()
        let transport = HTTPClientSelfTestTransport(httpClient: client)
        let start = ContinuousClock.now
        await #expect(throws: SelfTestTransportError.connection) {
            try await transport.post(self.request("http://127.0.0.1:1/ask"))
        }
        // Below the 5 s connect timeout a retrying client would wait out, with room for a loaded machine.
        #expect(start.duration(to: .now) < .seconds(4))
        try await client.shutdown()
    }
}
