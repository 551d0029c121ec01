import ArcanosCore
import Foundation
import Testing

@Suite struct ConfirmationGateStateMachineTests {
    static let start = Date(timeIntervalSince1970: 1_800_000_000)
    static let secret = "s3cret-automation-value-0123456789"
    static let trustedID = "g-trusted-gpt-42"

    typealias Gate = ConfirmationGateStateMachine

    static func gate(
        trusted: [String] = [Self.trustedID],
        models: [String] = [],
        allowAll: Bool = false,
        secret: String? = Self.secret,
        header: String = "x-arcanos-automation",
        capacity: Int = 10_000
    ) -> Gate {
        Gate(
            configuration: .init(
                trustedGPTIDs: trusted,
                configuredModelIDs: models,
                allowAllGPTs: allowAll,
                automationSecret: secret,
                automationHeader: header,
                challengeCapacity: capacity
            )
        )
    }

    static func request(
        _ method: String = "POST",
        _ path: String = "/workers/heal",
        _ headers: [(name: String, value: String)] = []
    ) -> ConfirmationRequest {
        ConfirmationRequest(method: method, path: path, headers: headers)
    }

    static func status(
        _ gate: inout Gate,
        _ headers: [(name: String, value: String)],
        method: String = "POST",
        path: String = "/workers/heal",
        now: Date = Self.start
    ) -> ConfirmationStatus? {
        var generator = SystemRandomNumberGenerator()
        guard case .proceed(let context) = gate.decide(Self.request(method, path, headers), now: now, using: &generator)
        else { return nil }
        return context.status
    }

    /// A challenge issued for `method path` at `now`.
    static func challenge(
        _ gate: inout Gate,
        method: String = "POST",
        path: String = "/workers/heal",
        now: Date = Self.start
    ) -> ConfirmationChallenge {
        var generator = SystemRandomNumberGenerator()
        guard case .pending(let challenge, _) = gate.decide(Self.request(method, path), now: now, using: &generator)
        else { fatalError("expected a challenge") }
        return challenge
    }

    // MARK: 1. auto-allowed

    @Test func allowAllGPTsLetsEveryRequestThroughAsAutoAllowed() {
        var gate = Self.gate(allowAll: true)
        #expect(Self.status(&gate, []) == .autoAllowed)
        #expect(gate.challengeCount == 0)
    }

    @Test func starInTrustedIDsLetsEveryRequestThroughAsAutoAllowed() {
        var gate = Self.gate(trusted: ["someone", "*"])
        #expect(Self.status(&gate, [("x-confirmed", "no")]) == .autoAllowed)
    }

    @Test func starIsNotATrustedGPTIDOfItsOwnWhenAllowAllIsOff() {
        var gate = Self.gate(trusted: ["a"])
        #expect(Self.status(&gate, [("x-gpt-id", "*")]) == nil)
    }

    // MARK: 2. challenge token

    @Test func challengeTokenForTheSameMethodAndPathPassesOnce() {
        var gate = Self.gate()
        let challenge = Self.challenge(&gate)
        #expect(Self.status(&gate, [("x-confirmed", "token:\(challenge.id)")]) == .challengeToken)
        #expect(Self.status(&gate, [("x-confirmed", "token:\(challenge.id)")]) == nil, "a replay must fail")
    }

    @Test(arguments: ["x-confirmed", "X-Confirmed", "X-CONFIRMED"])
    func challengeTokenHeaderNameIsCaseInsensitive(name: String) {
        var gate = Self.gate()
        let challenge = Self.challenge(&gate)
        #expect(Self.status(&gate, [(name, " TOKEN:\(challenge.id.uppercased()) ")]) == .challengeToken)
    }

    @Test func challengeUsedOnAnotherPathFailsAndIsBurned() {
        var gate = Self.gate()
        let challenge = Self.challenge(&gate, path: "/workers/heal")
        #expect(Self.status(&gate, [("x-confirmed", "token:\(challenge.id)")], path: "/devops/self-test") == nil)
        #expect(Self.status(&gate, [("x-confirmed", "token:\(challenge.id)")], path: "/workers/heal") == nil)
    }

    @Test func challengeUsedWithAnotherMethodFailsAndIsBurned() {
        var gate = Self.gate()
        let challenge = Self.challenge(&gate, method: "POST")
        #expect(Self.status(&gate, [("x-confirmed", "token:\(challenge.id)")], method: "PUT") == nil)
        #expect(Self.status(&gate, [("x-confirmed", "token:\(challenge.id)")], method: "POST") == nil)
    }

    @Test func aChallengeNamedByARequestTheGateNeverDecidedIsBurned() {
        var gate = Self.gate()
        let challenge = Self.challenge(&gate)
        gate.burnChallenge(
            namedIn: Self.request("PUT", "/workers/heal", [("x-confirmed", " TOKEN: \(challenge.id)")]),
            now: Self.start
        )
        #expect(Self.status(&gate, [("x-confirmed", "token:\(challenge.id)")]) == nil)
        // Burning what is already gone, or a header that names no challenge, changes nothing.
        let other = Self.challenge(&gate)
        gate.burnChallenge(namedIn: Self.request("POST", "/workers/heal", [("x-confirmed", "yes")]), now: Self.start)
        gate.burnChallenge(
            namedIn: Self.request("POST", "/workers/heal", [("x-confirmed", "token:\(challenge.id)")]),
            now: Self.start
        )
        #expect(Self.status(&gate, [("x-confirmed", "token:\(other.id)")]) == .challengeToken)
    }

    @Test func challengeExpiresAfterItsTimeToLive() {
        var gate = Self.gate()
        let first = Self.challenge(&gate)
        let second = Self.challenge(&gate)
        let ttl = TimeInterval(120)
        let justBefore = Self.start.addingTimeInterval(ttl - 0.001)
        let atExpiry = Self.start.addingTimeInterval(ttl)
        #expect(Self.status(&gate, [("x-confirmed", "token:\(first.id)")], now: justBefore) == .challengeToken)
        #expect(Self.status(&gate, [("x-confirmed", "token:\(second.id)")], now: atExpiry) == nil)
    }

    @Test func unknownChallengeIDIsRejected() {
        var gate = Self.gate()
        _ = Self.challenge(&gate)
        #expect(Self.status(&gate, [("x-confirmed", "token:0123456789abcdef0123456789abcdef")]) == nil)
        #expect(Self.status(&gate, [("x-confirmed", "token:")]) == nil)
    }

    // MARK: 3. one-time token

    @Test func oneTimeTokenPassesOnceAsTrustedAutomation() {
        var gate = Self.gate()
        var generator = SystemRandomNumberGenerator()
        let token = gate.mintToken(now: Self.start, using: &generator)
        var decisionGenerator = SystemRandomNumberGenerator()
        let decision = gate.decide(
            Self.request("POST", "/workers/heal", [("X-Arcanos-Confirm-Token", token.token)]),
            now: Self.start,
            using: &decisionGenerator
        )
        #expect(decision == .proceed(ConfirmationContext(status: .oneTimeToken, gptID: nil)))
        #expect(Self.status(&gate, [("x-arcanos-confirm-token", token.token)]) == nil, "a reused token must fail")
    }

    @Test func oneTimeTokenWorksOnAnyGatedRoute() {
        var gate = Self.gate()
        var generator = SystemRandomNumberGenerator()
        let token = gate.mintToken(now: Self.start, using: &generator)
        #expect(
            Self.status(&gate, [("x-arcanos-confirm-token", token.token)], path: "/devops/self-test") == .oneTimeToken
        )
    }

    @Test func unknownOrExpiredOneTimeTokenIsRejected() {
        var gate = Self.gate()
        var generator = SystemRandomNumberGenerator()
        let token = gate.mintToken(now: Self.start, using: &generator)
        #expect(token.expiresAt == Self.start.addingTimeInterval(600))
        #expect(Self.status(&gate, [("x-arcanos-confirm-token", "ffffffffffffffffffffffffffffffff")]) == nil)
        #expect(Self.status(&gate, [("x-arcanos-confirm-token", String(token.token.dropLast()))]) == nil)
        #expect(Self.status(&gate, [("x-arcanos-confirm-token", token.token)], now: token.expiresAt) == nil)
    }

    @Test func challengeIDIsNotAOneTimeTokenAndATokenIsNotAChallenge() {
        var gate = Self.gate()
        let challenge = Self.challenge(&gate)
        #expect(Self.status(&gate, [("x-arcanos-confirm-token", challenge.id)]) == nil)
        var generator = SystemRandomNumberGenerator()
        let token = gate.mintToken(now: Self.start, using: &generator)
        #expect(Self.status(&gate, [("x-confirmed", "token:\(token.token)")]) == nil)
    }

    // MARK: 4. automation secret

    @Test(arguments: ["x-arcanos-automation", "X-Arcanos-Automation", "X-ARCANOS-AUTOMATION"])
    func automationSecretUnderTheDefaultHeaderPasses(name: String) {
        var gate = Self.gate()
        #expect(Self.status(&gate, [(name, Self.secret)]) == .automationSecret)
    }

    @Test(arguments: [
        String(Self.secret.dropLast()),  // a prefix
        String(Self.secret.prefix(1)),
        Self.secret + "x",  // the secret plus one character
        String(Self.secret.dropLast()) + "X",  // wrong, same length
        "",
        " " + Self.secret,
        Self.secret.uppercased(),
    ])
    func wrongAutomationSecretsAreRejected(presented: String) {
        var gate = Self.gate()
        #expect(Self.status(&gate, [("x-arcanos-automation", presented)]) == nil)
    }

    @Test func secretUnderTheDefaultHeaderIsRejectedWhenACustomHeaderIsConfigured() {
        var gate = Self.gate(header: "X-Ops-Robot")
        #expect(Self.status(&gate, [("x-arcanos-automation", Self.secret)]) == nil)
        #expect(Self.status(&gate, [("x-ops-robot", Self.secret)]) == .automationSecret)
        #expect(Self.status(&gate, [("X-OPS-ROBOT", Self.secret)]) == .automationSecret)
    }

    @Test func noSecretConfiguredMeansTheAutomationHeaderNeverPasses() {
        var gate = Self.gate(secret: nil)
        #expect(Self.status(&gate, [("x-arcanos-automation", "")]) == nil)
        #expect(Self.status(&gate, [("x-arcanos-automation", "anything")]) == nil)
        var empty = Self.gate(secret: "")
        #expect(Self.status(&empty, [("x-arcanos-automation", "")]) == nil)
    }

    @Test func secretRepeatedInTwoHeaderFieldsIsRejected() {
        var gate = Self.gate()
        #expect(
            Self.status(&gate, [("x-arcanos-automation", Self.secret), ("X-Arcanos-Automation", Self.secret)]) == nil
        )
    }

    // MARK: 5. trusted GPT

    @Test(arguments: ["x-gpt-id", "X-GPT-ID", "X-Gpt-Id"])
    func trustedGPTIDPassesUnderAnyHeaderCase(name: String) {
        var gate = Self.gate()
        let decision = Self.decide(&gate, [(name, Self.trustedID)])
        #expect(decision == .proceed(ConfirmationContext(status: .trustedGPT, gptID: Self.trustedID)))
    }

    @Test(arguments: [
        Self.trustedID + "x",
        String(Self.trustedID.dropLast()),
        "x" + Self.trustedID,
        Self.trustedID.uppercased(),
        "",
    ])
    func nearMissGPTIDsAreRejected(gptID: String) {
        var gate = Self.gate()
        #expect(Self.status(&gate, [("x-gpt-id", gptID)]) == nil)
    }

    @Test func everyConfiguredFineTunedModelIDIsTrusted() {
        let models = ["gpt-4o-mini", "ft:gpt-4o-mini:arcanos:heal:abc123", "ft:other:model"]
        var gate = Self.gate(trusted: [], models: models)
        #expect(Self.status(&gate, [("x-gpt-id", "ft:gpt-4o-mini:arcanos:heal:abc123")]) == .trustedGPT)
        #expect(Self.status(&gate, [("x-gpt-id", "ft:other:model")]) == .trustedGPT)
    }

    @Test func untrustedFineTunedIDIsRejected() {
        var gate = Self.gate(trusted: [], models: ["ft:gpt-4o-mini:arcanos:heal:abc123"])
        #expect(Self.status(&gate, [("x-gpt-id", "ft:gpt-4o-mini:someone-else:heal:abc123")]) == nil)
        #expect(Self.status(&gate, [("x-gpt-id", "ft:gpt-4o-mini:arcanos:heal:abc12")]) == nil)
    }

    @Test func configuredModelIDsWithoutTheFineTunedPrefixAreNotTrusted() {
        var gate = Self.gate(trusted: [], models: ["gpt-4o-mini"])
        #expect(Self.status(&gate, [("x-gpt-id", "gpt-4o-mini")]) == nil)
    }

    @Test func gptIDIsReadFromXGPTIDOnly() {
        var gate = Self.gate()
        #expect(Self.status(&gate, [("x-gpt", Self.trustedID), ("gpt-id", Self.trustedID)]) == nil)
        #expect(Self.status(&gate, [("x-confirmed", Self.trustedID)]) == nil)
    }

    // MARK: 6. confirmed

    @Test(arguments: ["yes", "YES", " Yes ", "yEs"])
    func xConfirmedYesPassesTrimmedAndCaseInsensitive(value: String) {
        var gate = Self.gate()
        let decision = Self.decide(&gate, [("X-Confirmed", value)])
        #expect(decision == .proceed(ConfirmationContext(status: .confirmed, gptID: nil)))
    }

    @Test(arguments: ["true", "1", "no", "y", "yes please", "yes, yes", ""])
    func otherXConfirmedValuesAreRejected(value: String) {
        var gate = Self.gate()
        #expect(Self.status(&gate, [("x-confirmed", value)]) == nil)
    }

    @Test func xConfirmedYesRepeatedInTwoFieldsIsRejected() {
        var gate = Self.gate()
        #expect(Self.status(&gate, [("x-confirmed", "yes"), ("x-confirmed", "yes")]) == nil)
    }

    // MARK: Order

    @Test func checksRunInTheDesignOrder() {
        var gate = Self.gate()
        var generator = SystemRandomNumberGenerator()
        let challenge = Self.challenge(&gate)
        let token = gate.mintToken(now: Self.start, using: &generator)
        let everything: [(name: String, value: String)] = [
            ("x-confirmed", "token:\(challenge.id)"),
            ("x-arcanos-confirm-token", token.token),
            ("x-arcanos-automation", Self.secret),
            ("x-gpt-id", Self.trustedID),
        ]
        // The challenge wins and the token is left unused...
        #expect(Self.status(&gate, everything) == .challengeToken)
        // ...then the token, then the secret, then the GPT id, then a plain yes.
        #expect(Self.status(&gate, Array(everything.dropFirst())) == .oneTimeToken)
        #expect(Self.status(&gate, Array(everything.dropFirst(2))) == .automationSecret)
        #expect(Self.status(&gate, Array(everything.dropFirst(3))) == .trustedGPT)
        #expect(Self.status(&gate, [("x-gpt-id", "unknown"), ("x-confirmed", "yes")]) == .confirmed)

        var allowAll = Self.gate(allowAll: true)
        #expect(Self.status(&allowAll, everything) == .autoAllowed)
    }

    @Test func failedChallengeFallsThroughToTheOtherChecks() {
        var gate = Self.gate()
        #expect(
            Self.status(&gate, [("x-confirmed", "token:nope"), ("x-arcanos-automation", Self.secret)])
                == .automationSecret
        )
    }

    // MARK: Pending

    @Test func unconfirmedRequestGetsAChallengeBoundToItsMethodAndPath() {
        var gate = Self.gate()
        var generator = SystemRandomNumberGenerator()
        let decision = gate.decide(
            Self.request("post", "/workers/run/arcanos", [("x-gpt-id", "stranger")]),
            now: Self.start,
            using: &generator
        )
        guard case .pending(let challenge, let gptID) = decision else {
            Issue.record("expected pending, got \(decision)")
            return
        }
        #expect(gptID == "stranger")
        #expect(challenge.method == "POST")
        #expect(challenge.path == "/workers/run/arcanos")
        #expect(challenge.issuedAt == Self.start)
        #expect(challenge.expiresAt == Self.start.addingTimeInterval(120))
        #expect(challenge.timeToLiveMilliseconds == 120_000)
        #expect(challenge.id.count == 32)
        #expect(challenge.id.allSatisfy { $0.isHexDigit && !$0.isUppercase })
        #expect(gate.challengeCount == 1)
    }

    @Test func challengeIDsAreUnique() {
        var gate = Self.gate()
        var generator = SystemRandomNumberGenerator()
        var ids = Set<String>()
        for _ in 0..<1000 {
            guard case .pending(let challenge, _) = gate.decide(Self.request(), now: Self.start, using: &generator)
            else { continue }
            ids.insert(challenge.id)
        }
        #expect(ids.count == 1000)
    }

    @Test func instructionsExplainHowToConfirmWithoutNamingTrustedIDsOrTheSecret() {
        var gate = Self.gate(header: "x-ops-robot")
        let challenge = Self.challenge(&gate)
        let text = challenge.instructions.joined(separator: "\n")
        #expect(text.contains("x-confirmed: token:\(challenge.id)"))
        #expect(text.contains("x-confirmed: yes"))
        for forbidden in [Self.secret, Self.trustedID, "x-ops-robot", "automation", "secret", "x-gpt-id"] {
            #expect(!text.lowercased().contains(forbidden.lowercased()))
        }
    }

    @Test func echoedGPTIDIsCapped() {
        var gate = Self.gate()
        let long = String(repeating: "g", count: 5000)
        guard case .pending(_, let gptID) = Self.decide(&gate, [("x-gpt-id", long)]) else {
            Issue.record("expected pending")
            return
        }
        #expect(gptID?.count == ConfirmationRequest.maximumEchoedGPTIDLength)
    }

    @Test func challengeStoreStaysAtItsBoundAndEvictsTheOldest() {
        var gate = Self.gate(capacity: 100)
        let oldest = Self.challenge(&gate)
        var newest = oldest
        for _ in 0..<250 {
            newest = Self.challenge(&gate)
        }
        #expect(gate.challengeCount == 100)
        #expect(Self.status(&gate, [("x-confirmed", "token:\(oldest.id)")]) == nil)
        #expect(Self.status(&gate, [("x-confirmed", "token:\(newest.id)")]) == .challengeToken)
    }

    // MARK: Context and configuration

    @Test(arguments: ConfirmationStatus.allCases)
    func trustedAutomationAndManualConfirmationFollowTheStatus(status: ConfirmationStatus) {
        let context = ConfirmationContext(status: status, gptID: nil)
        let automated: Set<ConfirmationStatus> = [.autoAllowed, .oneTimeToken, .automationSecret, .trustedGPT]
        #expect(context.trustedAutomation == automated.contains(status))
        #expect(context.manualConfirmation == !automated.contains(status))
    }

    @Test func configurationDescriptionHidesTheSecretAndTrustedIDs() {
        let configuration = Gate.Configuration(
            trustedGPTIDs: [Self.trustedID],
            configuredModelIDs: ["ft:private:model"],
            automationSecret: Self.secret
        )
        let text = "\(configuration)"
        #expect(!text.contains(Self.secret))
        #expect(!text.contains(Self.trustedID))
        #expect(!text.contains("ft:private:model"))
    }

    @Test func automationCredentialForMintingTokens() {
        let gate = Self.gate(header: "x-ops-robot")
        #expect(gate.automationCredential(in: Self.request("POST", "/confirm/tokens", [])) == .missing)
        #expect(
            gate.automationCredential(in: Self.request("POST", "/", [("x-arcanos-automation", Self.secret)]))
                == .missing
        )
        #expect(
            gate.automationCredential(in: Self.request("POST", "/", [("X-Ops-Robot", Self.secret + "x")])) == .rejected
        )
        #expect(gate.automationCredential(in: Self.request("POST", "/", [("X-Ops-Robot", Self.secret)])) == .accepted)
        let unset = Self.gate(secret: nil)
        #expect(unset.automationCredential(in: Self.request("POST", "/", [("x-arcanos-automation", "")])) == .rejected)
    }

    static func decide(_ gate: inout Gate, _ headers: [(name: String, value: String)]) -> ConfirmationDecision {
        var generator = SystemRandomNumberGenerator()
        return gate.decide(Self.request("POST", "/workers/heal", headers), now: Self.start, using: &generator)
    }
}
