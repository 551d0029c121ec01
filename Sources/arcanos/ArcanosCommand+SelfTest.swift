import ArcanosApp
import ArcanosCore
import ArcanosLLM
import ArcanosStore
import ArgumentParser
import AsyncHTTPClient
import Configuration
import Foundation
import Logging

extension ArcanosCommand {
    /// `arcanos selftest`: the self-test of a running server, from the command line. Sends the readiness
    /// prompts to `<url>/ask`, records the results in `ARCANOS_DATA_DIR` like the server does, prints the
    /// summary as JSON and exits 1 when it failed (for cron jobs and deploy scripts).
    struct SelfTest: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "selftest",
            abstract: "Run the self-test against a running server.",
            discussion: """
                The prompts, timeout and operator key come from the same environment as `arcanos serve` \
                (SELF_TEST_PROMPTS, SELF_TEST_TIMEOUT_MS, ARCANOS_API_KEYS). Results are appended to \
                logs/healthcheck.json and mirrored into systemState.json as selfTest. Exit status: 0 pass, 1 fail.
                """
        )

        @Option(help: "Base URL of the server to test (default: SELF_TEST_BASE_URL, else http://HOST:PORT).")
        var url: String?

        @Option(help: "Directory for state files (overrides ARCANOS_DATA_DIR).")
        var dataDir: String?

        @Flag(help: "Only print the summary; write no state files.")
        var noRecord = false

        func run() async throws {
            let configuration: AppConfiguration
            do {
                configuration = try AppConfiguration(reader: ConfigReader(provider: EnvironmentVariablesProvider()))
            } catch let error as ArcanosError {
                throw ValidationError(error.message)
            }
            let target = try self.target(configuration)
            var logger = Logger(label: "arcanos.selftest")
            logger.logLevel = .warning
            let dataDirectory = self.dataDir ?? configuration.server.dataDirectory
            let httpClient = HTTPClientSelfTestTransport.makeHTTPClient()
            let pipeline = SelfTestPipeline(
                configuration: .init(
                    interval: nil,
                    prompts: configuration.selfTest.prompts,
                    promptTimeout: configuration.selfTest.promptTimeout,
                    baseURL: target,
                    targetModel: configuration.model.model,
                    apiKey: configuration.auth.apiKeys.first
                ),
                transport: HTTPClientSelfTestTransport(httpClient: httpClient),
                healthLog: self.noRecord
                    ? nil
                    : HealthCheckLog(
                        storage: SystemStateFile(directory: dataDirectory, name: HealthCheckLog.relativePath),
                        logger: logger
                    ),
                // The summary goes to this data directory's systemState.json only, not to a server's store.
                record: self.noRecord
                    ? nil
                    : SharedRecord(
                        store: InMemorySharedStateStore(),
                        state: ArcanosServer.makeStateManager(dataDirectory: dataDirectory, logger: logger),
                        logger: logger
                    ),
                logger: logger
            )
            let summary: SelfTestSummary
            do {
                summary = try await pipeline.run(triggeredBy: .cli)
            } catch {
                try? await httpClient.shutdown()
                throw error
            }
            try await httpClient.shutdown()
            print(String(decoding: try SelfTestSummary.encoder.encode(summary), as: UTF8.self))
            if summary.status == .fail {
                throw ExitCode(1)
            }
        }

        /// `--url`, else `SELF_TEST_BASE_URL`, else the configured listening address (on loopback).
        func target(_ configuration: AppConfiguration) throws -> String {
            if let url = self.url {
                guard url.hasPrefix("http://") || url.hasPrefix("https://"), url.count > 8 else {
                    throw ValidationError("--url must be an http:// or https:// URL")
                }
                return url
            }
            if let configured = configuration.selfTest.baseURL { return configured }
            return SelfTestPipeline.loopbackBaseURL(host: configuration.server.host, port: configuration.server.port)
        }
    }
}
