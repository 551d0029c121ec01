import ArcanosTesting
import ArgumentParser
import Logging
import NIOCore
import NIOPosix
import ServiceLifecycle
import UnixSignals

extension DevCommand {
    /// `arcanos-dev mock-llm`: a fake OpenAI-compatible model server, to try degraded mode and to benchmark.
    struct MockLLM: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "mock-llm",
            abstract: "Run a fake OpenAI-compatible model server on loopback.",
            discussion: """
                Point Arcanos at it with OPENAI_BASE_URL=http://127.0.0.1:PORT/v1 and any OPENAI_API_KEY.
                Switch its behaviour while it runs: curl -X POST http://127.0.0.1:PORT/_mock/mode/hang
                """
        )

        @Option(help: "Port to listen on.")
        var port = 9090

        @Option(help: "Behaviour: \(FakeOpenAIServer.Mode.allCases.map(\.rawValue).joined(separator: ", ")).")
        var mode: FakeOpenAIServer.Mode = .ok

        @Option(help: "Delay of the slow mode, in milliseconds.")
        var slowMs = 2000

        func run() async throws {
            // Tasks run on the NIO event loops, next to their I/O, instead of hopping to the global pool and back.
            NIOSingletons.unsafeTryInstallSingletonPosixEventLoopGroupAsConcurrencyGlobalExecutor()
            let server = FakeOpenAIServer(mode: self.mode)
            server.slowDelay = .milliseconds(self.slowMs)
            var logger = Logger(label: "arcanos.mock-llm")
            logger.logLevel = .warning
            let port = self.port
            let application = server.makeApplication(port: port, logger: logger) { bound in
                print("mock-llm listening on http://127.0.0.1:\(bound)/v1 (mode \(server.mode.rawValue))")
            }
            let group = ServiceGroup(
                configuration: .init(
                    services: [application],
                    gracefulShutdownSignals: [.sigterm, .sigint],
                    logger: logger
                )
            )
            try await group.run()
        }
    }
}

extension FakeOpenAIServer.Mode: ExpressibleByArgument {}
