import ArcanosApp
import ArcanosCore
import ArcanosHTTP
import Configuration
import Testing

/// The confirmation variables as `arcanos serve` reads them.
@Suite struct ConfirmationConfigurationTests {
    static func read(_ environment: [String: String]) throws -> AppConfiguration {
        try AppConfiguration(
            reader: ConfigReader(provider: EnvironmentVariablesProvider(environmentVariables: environment))
        )
    }

    @Test func defaultsMatchTheDesign() throws {
        let confirmation = try Self.read([:]).confirmation
        #expect(confirmation.trustedGPTIDs.isEmpty)
        #expect(confirmation.allowAllGPTs == false)
        #expect(confirmation.automationSecret == nil)
        #expect(confirmation.automationHeader == "x-arcanos-automation")
        #expect(confirmation.challengeTimeToLive == .milliseconds(120_000))
        #expect(confirmation.tokenTimeToLive == .milliseconds(600_000))
        #expect(confirmation.challengeCapacity == 10_000)
        // The default model is not fine-tuned, so nothing is trusted.
        #expect(confirmation.gate.effectiveTrustedGPTIDs.isEmpty)
        #expect(!confirmation.gate.allowsEveryone)
    }

    @Test func readsEveryVariable() throws {
        let confirmation = try Self.read([
            "TRUSTED_GPT_IDS": " g-one , g-two,,",
            "ALLOW_ALL_GPTS": "false",
            "ARCANOS_AUTOMATION_SECRET": "the-secret",
            "ARCANOS_AUTOMATION_HEADER": "X-Ops-Robot",
            "CONFIRMATION_CHALLENGE_TTL_MS": "30000",
            "ARCANOS_CONFIRM_TOKEN_TTL_MS": "60000",
            "ARCANOS_CONFIRM_CHALLENGE_MAX": "500",
        ]).confirmation
        #expect(confirmation.trustedGPTIDs == ["g-one", "g-two"])
        #expect(confirmation.automationSecret == "the-secret")
        #expect(confirmation.automationHeader == "x-ops-robot")
        #expect(confirmation.challengeTimeToLive == .seconds(30))
        #expect(confirmation.tokenTimeToLive == .seconds(60))
        #expect(confirmation.challengeCapacity == 500)
        #expect(confirmation.gate.automationHeader == "x-ops-robot")
        #expect(confirmation.gate.challengeCapacity == 500)
    }

    @Test(arguments: [["ALLOW_ALL_GPTS": "true"], ["TRUSTED_GPT_IDS": "g-one,*"]])
    func allowAllOrAStarLetsEveryoneThrough(environment: [String: String]) throws {
        #expect(try Self.read(environment).confirmation.gate.allowsEveryone)
    }

    @Test func everyConfiguredFineTunedIDIsTrustedAndNothingElse() throws {
        let gate = try Self.read([
            "AI_MODEL": "ft:gpt-4o-mini:org:primary:1",
            "OPENAI_MODEL": "gpt-4o",
            "FINETUNED_MODEL_ID": "ft:gpt-4o-mini:org:tuned:2",
            "FINE_TUNED_AUTOMATION_GPT_ID": "ft:gpt-4o-mini:org:automation:3",
            "TRUSTED_GPT_IDS": "g-explicit",
        ]).confirmation.gate
        #expect(
            Set(gate.effectiveTrustedGPTIDs) == [
                "g-explicit", "ft:gpt-4o-mini:org:primary:1", "ft:gpt-4o-mini:org:tuned:2",
                "ft:gpt-4o-mini:org:automation:3",
            ]
        )
    }

    @Test func fineTunedModelIDIsTrustedEvenWhenAnotherModelIsActive() throws {
        let configuration = try Self.read(["OPENAI_MODEL": "ft:a:b:c", "AI_MODEL": "gpt-4o-mini"])
        #expect(configuration.model.model == "gpt-4o-mini")
        #expect(configuration.confirmation.gate.effectiveTrustedGPTIDs == ["ft:a:b:c"])
    }

    @Test(arguments: ["x-confirmed", "X-GPT-ID", "x-arcanos-confirm-token", "authorization", "bad header", "x:y"])
    func unusableAutomationHeaderNamesStopStartUp(name: String) {
        #expect {
            _ = try Self.read(["ARCANOS_AUTOMATION_HEADER": name])
        } throws: { error in
            (error as? ArcanosError)?.message.contains("ARCANOS_AUTOMATION_HEADER") == true
        }
    }

    @Test(arguments: [
        "CONFIRMATION_CHALLENGE_TTL_MS", "ARCANOS_CONFIRM_TOKEN_TTL_MS", "ARCANOS_CONFIRM_CHALLENGE_MAX",
        "ALLOW_ALL_GPTS",
    ])
    func invalidValuesStopStartUpNamingTheVariable(variable: String) {
        #expect {
            _ = try Self.read([variable: "0x"])
        } throws: { error in
            (error as? ArcanosError)?.message.contains(variable) == true
        }
    }

    @Test func secretIsNotInTheGateDescription() throws {
        let gate = try Self.read(["ARCANOS_AUTOMATION_SECRET": "the-secret", "TRUSTED_GPT_IDS": "g-one"]).confirmation
            .gate
        #expect(!"\(gate)".contains("the-secret"))
        #expect(!"\(gate)".contains("g-one"))
    }
}
