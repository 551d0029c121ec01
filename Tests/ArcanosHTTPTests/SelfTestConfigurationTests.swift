import ArcanosApp
import ArcanosCore
import ArcanosHTTP
import ArgumentParser
import Foundation
import Testing

@testable import arcanos

@Suite struct SelfTestConfigurationTests {
    @Test func defaults() throws {
        let configuration = try configuration(environment: [:])
        #expect(configuration.selfTest.interval == .milliseconds(300_000))
        #expect(configuration.selfTest.baseURL == nil)
        #expect(configuration.selfTest.prompts == SelfTestPrompt.defaults)
        #expect(configuration.selfTest.promptTimeout == .seconds(30))
        #expect(configuration.watchdog.mode == .off)
        #expect(configuration.watchdog.interval == .milliseconds(10_000))
    }

    @Test func everyVariableIsRead() throws {
        let configuration = try configuration(environment: [
            "SELF_TEST_INTERVAL_MS": "2000",
            "SELF_TEST_BASE_URL": "http://10.0.0.5:8080",
            "SELF_TEST_PROMPTS": #"["Are you up?",{"id":"json","prompt":"Answer in JSON","expectation":"JSON"}]"#,
            "SELF_TEST_TIMEOUT_MS": "5000",
            "ARCANOS_AUTO_HEAL": "EXECUTE",
            "ARCANOS_AUTO_HEAL_INTERVAL_MS": "2500",
        ])
        #expect(configuration.selfTest.interval == .milliseconds(2000))
        #expect(configuration.selfTest.baseURL == "http://10.0.0.5:8080")
        #expect(configuration.selfTest.prompts.map(\.id) == ["prompt-1", "json"])
        #expect(configuration.selfTest.promptTimeout == .milliseconds(5000))
        #expect(configuration.watchdog.mode == .execute)
        #expect(configuration.watchdog.interval == .milliseconds(2500))
    }

    @Test func zeroTurnsThePeriodicSelfTestOff() throws {
        #expect(try configuration(environment: ["SELF_TEST_INTERVAL_MS": "0"]).selfTest.interval == nil)
    }

    @Test(arguments: [
        ("SELF_TEST_INTERVAL_MS", "500"), ("SELF_TEST_INTERVAL_MS", "-1"), ("SELF_TEST_INTERVAL_MS", "often"),
        ("SELF_TEST_BASE_URL", "file:///etc/passwd"), ("SELF_TEST_PROMPTS", "not json"),
        ("SELF_TEST_PROMPTS", "[]"), ("SELF_TEST_TIMEOUT_MS", "0"), ("ARCANOS_AUTO_HEAL", "on"),
        ("ARCANOS_AUTO_HEAL_INTERVAL_MS", "10"),
    ])
    func anInvalidValueStopsStartUpNamingTheVariable(variable: String, value: String) throws {
        let error = try #require(throws: ArcanosError.self) { try configuration(environment: [variable: value]) }
        #expect(error.code == .configurationInvalid)
        #expect(error.message.hasPrefix(variable))
    }

    @Test func theSelftestCommandParses() throws {
        let command = try ArcanosCommand.parseAsRoot(["selftest", "--url", "http://127.0.0.1:9000", "--no-record"])
        let selfTest = try #require(command as? ArcanosCommand.SelfTest)
        #expect(selfTest.url == "http://127.0.0.1:9000")
        #expect(selfTest.noRecord)
    }

    @Test func theSelftestCommandTargetsTheConfiguredAddressWithoutURL() throws {
        let command = try #require(try ArcanosCommand.parseAsRoot(["selftest"]) as? ArcanosCommand.SelfTest)
        var configuration = AppConfiguration()
        configuration.server.host = "0.0.0.0"
        configuration.server.port = 8181
        #expect(try command.target(configuration) == "http://127.0.0.1:8181")
        configuration.selfTest.baseURL = "http://internal:1"
        #expect(try command.target(configuration) == "http://internal:1")
        let withURL = try #require(
            try ArcanosCommand.parseAsRoot(["selftest", "--url", "ftp://x"]) as? ArcanosCommand.SelfTest
        )
        #expect(throws: ValidationError.self) { try withURL.target(configuration) }
    }
}
