import AsyncHTTPClient
import Hummingbird
import NIOCore
import NIOHTTP1
import NIOPosix

/// `proxy-floor PORT UPSTREAM`: `POST /ask` sends one fixed chat-completions request to UPSTREAM
/// (`http://host:port/v1`) and answers with the upstream's body. No validation, middleware, JSON,
/// breaker, cache, metrics or logging: what is left is the cost of Hummingbird and AsyncHTTPClient,
/// configured as Arcanos configures them.
@main
struct ProxyFloor {
    static func main() async throws {
        NIOSingletons.unsafeTryInstallSingletonPosixEventLoopGroupAsConcurrencyGlobalExecutor()
        let arguments = CommandLine.arguments
        guard arguments.count == 3, let port = Int(arguments[1]) else {
            print("usage: proxy-floor PORT UPSTREAM_BASE_URL")
            return
        }
        let endpoint = arguments[2] + "/chat/completions"
        let client = HTTPClient(
            eventLoopGroupProvider: .singleton,
            configuration: .init(
                redirectConfiguration: .disallow,
                timeout: .init(connect: .seconds(5)),
                connectionPool: .init(idleTimeout: .seconds(60), concurrentHTTP1ConnectionsPerHostSoftLimit: 64)
            )
        )
        let body = ByteBuffer(
            string:
                #"{"model":"gpt-4o-mini","messages":[{"role":"user","content":"Are you online? Answer in one word."}]}"#
        )
        let router = Router()
        router.post("/ask") { request, _ -> Response in
            var request = request
            _ = try await request.collectBody(upTo: 1 << 20)
            var upstream = HTTPClientRequest(url: endpoint)
            upstream.method = .POST
            upstream.headers.add(name: "Content-Type", value: "application/json")
            upstream.headers.add(name: "Authorization", value: "Bearer bench")
            upstream.body = .bytes(body)
            let response = try await client.execute(upstream, deadline: .now() + .milliseconds(500))
            let bytes = try await response.body.collect(upTo: 1 << 20)
            return Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: bytes))
        }
        let application = Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: port)))
        try await application.runService()
        try await client.shutdown()
    }
}
