import ArcanosApp
import ArcanosCore
import ArcanosHTTP
import ArgumentParser
import Configuration
import Testing

@testable import arcanos

@Suite struct ConfigurationTests {
    @Test func defaultsApplyToAnEmptyEnvironment() throws {
        let configuration = try configuration(environment: [:])
        #expect(configuration.server.host == "127.0.0.1")
        #expect(configuration.server.port == 8080)
        #expect(configuration.server.maximumBodyBytes == 1 << 20)
        #expect(configuration.model.apiKey == nil)
        #expect(configuration.model.timeout == .seconds(15))
        #expect(configuration.model.chain == ["gpt-4o-mini"])
        #expect(configuration.auth.apiKeys.isEmpty)
        #expect(!configuration.degradesPreemptively)
    }

    @Test func readsEveryVariableItKnows() throws {
        let configuration = try configuration(environment: [
            "HOST": "0.0.0.0", "PORT": "9000", "ARCANOS_DATA_DIR": "/tmp/x", "ARCANOS_LOG_FORMAT": "json",
            "ARCANOS_API_KEYS": "a, b,,c", "OPENAI_API_KEY": "sk-test", "OPENAI_BASE_URL": "http://127.0.0.1:9/v1",
            "OPENAI_TIMEOUT_MS": "2500", "OPENAI_MODEL": "gpt-x", "FALLBACK_MODEL": "gpt-y",
            "FALLBACK_PREEMPTIVE": "true", "ARCANOS_MAX_BODY_BYTES": "2048",
        ])
        #expect(configuration.server.host == "0.0.0.0")
        #expect(configuration.server.port == 9000)
        #expect(configuration.server.dataDirectory == "/tmp/x")
        #expect(configuration.server.logFormat == .json)
        #expect(configuration.auth.apiKeys == ["a", "b", "c"])
        #expect(configuration.model.apiKey == "sk-test")
        #expect(configuration.model.baseURL == "http://127.0.0.1:9/v1")
        #expect(configuration.model.timeout == .milliseconds(2500))
        #expect(configuration.model.chain == ["gpt-x", "gpt-y"])
        #expect(configuration.server.maximumBodyBytes == 2048)
        #expect(configuration.degradesPreemptively)
    }

    @Test func theModelComesFromAIModelThenOpenAIModelThenTheFineTunedId() throws {
        let all = try configuration(environment: ["AI_MODEL": "a", "OPENAI_MODEL": "o", "FINETUNED_MODEL_ID": "ft:x"])
        #expect(all.model.model == "a")
        let two = try configuration(environment: ["OPENAI_MODEL": "o", "FINETUNED_MODEL_ID": "ft:x"])
        #expect(two.model.model == "o")
        let one = try configuration(environment: ["FINETUNED_MODEL_ID": "ft:x"])
        #expect(one.model.model == "ft:x")
    }

    @Test(arguments: [
        ("PORT", "eighty"), ("PORT", "70000"), ("OPENAI_TIMEOUT_MS", "-5"), ("FALLBACK_PREEMPTIVE", "maybe"),
        ("ARCANOS_LOG_FORMAT", "xml"), ("OPENAI_BASE_URL", "ftp://x"), ("ARCANOS_ALLOW_UNAUTHENTICATED", "2"),
        ("OPENAI_BREAKER_THRESHOLD", "9"), ("JOB_RETENTION_MS", "-1"), ("JOB_RETENTION_MS", "a week"),
    ])
    func anInvalidValueNamesTheVariable(variable: String, value: String) {
        let error = #expect(throws: ArcanosError.self) { try configuration(environment: [variable: value]) }
        #expect(error?.code == .configurationInvalid)
        #expect(error?.message.contains(variable) == true)
    }

    @Test("issue 11: model calls are sized for LLM traffic and the breaker opens briefly first")
    func modelConcurrencyAndBreakerScheduleDefaults() throws {
        let defaults = try configuration(environment: [:])
        #expect(defaults.model.maxInFlight == 1024)
        #expect(defaults.model.maxConnections == 1024)
        #expect(defaults.model.breakerOpen == .seconds(1))
        #expect(defaults.model.breakerMaxOpen == .seconds(60))
        let set = try configuration(environment: [
            "OPENAI_MAX_IN_FLIGHT": "200", "OPENAI_MAX_CONNECTIONS": "300", "OPENAI_BREAKER_OPEN_MS": "500",
            "OPENAI_BREAKER_MAX_OPEN_MS": "8000",
        ])
        #expect(set.model.maxInFlight == 200)
        #expect(set.model.maxConnections == 300)
        #expect(set.model.breakerOpen == .milliseconds(500))
        #expect(set.model.breakerMaxOpen == .milliseconds(8000))
        // The connections follow the in-flight limit unless set; the old cool-down name sets the first open time.
        let derived = try configuration(environment: [
            "OPENAI_MAX_IN_FLIGHT": "2000", "OPENAI_BREAKER_COOLDOWN_MS": "90000",
        ])
        #expect(derived.model.maxConnections == 2000)
        #expect(derived.model.breakerOpen == .seconds(90))
        #expect(derived.model.breakerMaxOpen == .seconds(90))
    }

    @Test(arguments: [
        ["OPENAI_MAX_IN_FLIGHT": "0"], ["OPENAI_MAX_CONNECTIONS": "many"],
        ["OPENAI_MAX_IN_FLIGHT": "100", "OPENAI_MAX_CONNECTIONS": "50"], ["OPENAI_BREAKER_OPEN_MS": "10"],
        ["OPENAI_BREAKER_OPEN_MS": "5000", "OPENAI_BREAKER_MAX_OPEN_MS": "1000"],
    ])
    func anInvalidConcurrencyOrBreakerValueNamesTheVariable(environment: [String: String]) {
        let error = #expect(throws: ArcanosError.self) { try configuration(environment: environment) }
        #expect(error?.code == .configurationInvalid)
        let named = [
            "OPENAI_MAX_CONNECTIONS", "OPENAI_MAX_IN_FLIGHT", "OPENAI_BREAKER_OPEN_MS", "OPENAI_BREAKER_MAX_OPEN_MS",
        ]
        #expect(named.contains { error?.message.contains($0) == true })
    }

    @Test func finishedJobsAreKeptSevenDaysUnlessTheRetentionSaysOtherwise() throws {
        #expect(try configuration(environment: [:]).workers.jobRetention == .seconds(7 * 86_400))
        #expect(try configuration(environment: ["JOB_RETENTION_MS": "60000"]).workers.jobRetention == .seconds(60))
        #expect(try configuration(environment: ["JOB_RETENTION_MS": "0"]).workers.jobRetention == nil)
    }

    @Test func refusesANonLoopbackAddressWithoutKeys() throws {
        let serve = try #require(
            try ArcanosCommand.parseAsRoot(["serve", "--host", "0.0.0.0"]) as? ArcanosCommand.Serve
        )
        let refused = #expect(throws: ArcanosError.self) {
            try serve.resolveConfiguration(
                reader: ConfigReader(provider: EnvironmentVariablesProvider(environmentVariables: [:]))
            )
        }
        #expect(refused?.message.contains("ARCANOS_API_KEYS") == true)
        let withKeys = try serve.resolveConfiguration(
            reader: ConfigReader(
                provider: EnvironmentVariablesProvider(environmentVariables: ["ARCANOS_API_KEYS": "k"])
            )
        )
        #expect(withKeys.server.host == "0.0.0.0")
        let allowed = try serve.resolveConfiguration(
            reader: ConfigReader(
                provider: EnvironmentVariablesProvider(environmentVariables: ["ARCANOS_ALLOW_UNAUTHENTICATED": "true"])
            )
        )
        #expect(allowed.auth.allowUnauthenticated)
    }

    @Test func flagsOverrideTheEnvironment() throws {
        let serve = try #require(
            try ArcanosCommand.parseAsRoot(["serve", "--port", "0", "--data-dir", "/tmp/d"]) as? ArcanosCommand.Serve
        )
        let configuration = try serve.resolveConfiguration(
            reader: ConfigReader(provider: EnvironmentVariablesProvider(environmentVariables: ["PORT": "1234"]))
        )
        #expect(configuration.server.port == 0)
        #expect(configuration.server.dataDirectory == "/tmp/d")
    }

    @Test func serveIsTheDefaultSubcommand() throws {
        #expect(try ArcanosCommand.parseAsRoot([]) is ArcanosCommand.Serve)
        // The fake model is a development tool (`arcanos-dev mock-llm`), not part of the server binary.
        #expect(throws: (any Error).self) { try ArcanosCommand.parseAsRoot(["mock-llm", "--mode", "hang"]) }
    }
}
