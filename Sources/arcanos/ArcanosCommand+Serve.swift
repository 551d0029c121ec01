import ArcanosApp
import ArcanosCore
import ArgumentParser
import Configuration
import Logging
import NIOCore
import NIOPosix

extension ArcanosCommand {
    /// `arcanos serve`: the server, configured from the environment, flags overriding it.
    struct Serve: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Run the Arcanos server.")

        @Option(help: "Address to listen on (overrides HOST).")
        var host: String?

        @Option(help: "Port to listen on (overrides PORT).")
        var port: Int?

        @Option(help: "Directory for state files (overrides ARCANOS_DATA_DIR).")
        var dataDir: String?

        func run() async throws {
            // Tasks run on the NIO event loops, next to their I/O, instead of hopping to the global pool and back.
            NIOSingletons.unsafeTryInstallSingletonPosixEventLoopGroupAsConcurrencyGlobalExecutor()
            let configuration: AppConfiguration
            do {
                configuration = try self.resolveConfiguration(
                    reader: ConfigReader(provider: EnvironmentVariablesProvider())
                )
            } catch let error as ArcanosError {
                throw ValidationError(error.message)
            }
            let logger = ArcanosServer.bootstrapLogging(configuration.server)
            try await buildApplication(configuration: configuration, logger: logger).run(logger: logger)
        }

        func resolveConfiguration(reader: ConfigReader) throws -> AppConfiguration {
            var configuration = try AppConfiguration(reader: reader)
            if let host { configuration.server.host = host }
            if let port {
                guard (0...65535).contains(port) else { throw ValidationError("--port must be from 0 to 65535") }
                configuration.server.port = port
            }
            if let dataDir { configuration.server.dataDirectory = dataDir }
            try configuration.auth.policy.validate(listeningOn: configuration.server.host)
            return configuration
        }
    }
}
