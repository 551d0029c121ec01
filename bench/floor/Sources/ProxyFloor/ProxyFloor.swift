import AsyncHTTPClient
import Foundation
import Hummingbird
import NIOCore
import NIOHTTP1
import NIOPosix

/// `proxy-floor PORT UPSTREAM`: `POST /ask` sends one fixed chat-completions request to UPSTREAM
/// (`http://host:port/v1`) and answers with the upstream's body. No validation, middleware, JSON,
/// breaker, cache, metrics or logging: what is left is the cost of Hummingbird and AsyncHTTPClient,
/// configured as Arcanos configures them. `FLOOR_MAX_CONNECTIONS` (default 64) sizes the upstream pool and
/// `FLOOR_DEADLINE_MS` (default 500) bounds each upstream call, so a slow model can be proxied too.
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
        let environment = ProcessInfo.processInfo.environment
        let maxConnections = environment["FLOOR_MAX_CONNECTIONS"].flatMap(Int.init) ?? 64
        let deadline = TimeAmount.milliseconds(environment["FLOOR_DEADLINE_MS"].flatMap(Int64.init) ?? 500)
        let client = HTTPClient(
            eventLoopGroupProvider: .singleton,
            configuration: .init(
                redirectConfiguration: .disallow,
                timeout: .init(connect: .seconds(5)),
                connectionPool: .init(
                    idleTimeout: .seconds(60),
                    concurrentHTTP1ConnectionsPerHostSoftLimit: maxConnections
                )
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
            let response = try await client.execute(upstream, deadline: .now() + deadline)
            let bytes = try await response.body.collect(upTo: 1 << 20)
            return Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: bytes))
        }
        let application = Application(
            router: router,
            configuration: .init(address: .hostname("127.0.0.1", port: port), backlog: 4096)
        )
        try await application.runService()
        try await client.shutdown()
    }
}
