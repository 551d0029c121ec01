import ArcanosCore
import Foundation
import Synchronization
import Testing

/// The gate's checks in DESIGN §4's order, through `ConfirmationService` on an in-memory store and a clock the
/// test sets (the stores' own rules are `SharedStateContract`).
@Suite struct ConfirmationGateTests {
    static let start = Date(timeIntervalSince1970: 1_800_000_000)
    static let secret = "s3cret-automation-value-0123456789"
    static let trustedID = "g-trusted-gpt-42"

    /// The service with a clock each call sets.
    final class Gate: Sendable {
        final class Clock: Sendable {
            let now = Mutex(ConfirmationGateTests.start)
        }

        let service: ConfirmationService
        private let clock = Clock()

        init(configuration: ConfirmationPolicy.Configuration) {
            let clock = self.clock
            self.service = ConfirmationService(
                configuration: configuration,
                store: InMemorySharedStateStore(),
                now: { clock.now.withLock { $0 } }
            )
        }

        func decide(_ request: ConfirmationRequest, now: Date) async throws -> ConfirmationDecision {
            self.clock.now.withLock { $0 = now }
            return try await self.service.decide(request)
        }

        func mintToken(now: Date) async throws -> OneTimeToken {
            self.clock.now.withLock { $0 = now }
            return try await self.service.mintToken()
        }

        func burnChallenge(namedIn request: ConfirmationRequest, now: Date) async throws {
            self.clock.now.withLock { $0 = now }
            try await self.service.burnChallenge(namedIn: request)
        }

        func challengeCount() async throws -> Int { try await self.service.challengeCount() }

        func automationCredential(in request: ConfirmationRequest) -> AutomationCredential {
            self.service.automationCredential(in: request)
        }
    }

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
        _ gate: Gate,
        _ headers: [(name: String, value: String)],
        method: String = "POST",
        path: String = "/workers/heal",
        now: Date = Self.start
    ) async throws -> ConfirmationStatus? {
        guard case .proceed(let context) = try await gate.decide(Self.request(method, path, headers), now: now)
        else { return nil }
        return context.status
    }

    /// A challenge issued for `method path` at `now`.
    static func challenge(
        _ gate: Gate,
        method: String = "POST",
        path: String = "/workers/heal",
        now: Date = Self.start
    ) async throws -> ConfirmationChallenge {
        guard case .pending(let challenge, _) = try await gate.decide(Self.request(method, path), now: now)
        else { fatalError("expected a challenge") }
        return challenge
    }

    // MARK: 1. auto-allowed

    @Test func allowAllGPTsLetsEveryRequestThroughAsAutoAllowed() async throws {
        let gate = Self.gate(allowAll: true)
        #expect(try await Self.status(gate, []) == .autoAllowed)
        #expect(try await gate.challengeCount() == 0)
    }

    @Test func starInTrustedIDsLetsEveryRequestThroughAsAutoAllowed() async throws {
        let gate = Self.gate(trusted: ["someone", "*"])
        #expect(try await Self.status(gate, [("x-confirmed", "no")]) == .autoAllowed)
    }

    @Test func starIsNotATrustedGPTIDOfItsOwnWhenAllowAllIsOff() async throws {
        let gate = Self.gate(trusted: ["a"])
        #expect(try await Self.status(gate, [("x-gpt-id", "*")]) == nil)
    }

    // MARK: 2. challenge token

    @Test func challengeTokenForTheSameMethodAndPathPassesOnce() async throws {
        let gate = Self.gate()
        let challenge = try await Self.challenge(gate)
        #expect(try await Self.status(gate, [("x-confirmed", "token:\(challenge.id)")]) == .challengeToken)
        #expect(try await Self.status(gate, [("x-confirmed", "token:\(challenge.id)")]) == nil, "a replay must fail")
    }

    @Test(arguments: ["x-confirmed", "X-Confirmed", "X-CONFIRMED"])
    func challengeTokenHeaderNameIsCaseInsensitive(name: String) async throws {
        let gate = Self.gate()
        let challenge = try await Self.challenge(gate)
        #expect(try await Self.status(gate, [(name, " TOKEN:\(challenge.id.uppercased()) ")]) == .challengeToken)
    }

    @Test func challengeUsedOnAnotherPathFailsAndIsBurned() async throws {
        let gate = Self.gate()
        let challenge = try await Self.challenge(gate, path: "/workers/heal")
        #expect(
            try await Self.status(gate, [("x-confirmed", "token:\(challenge.id)")], path: "/devops/self-test") == nil
        )
        #expect(try await Self.status(gate, [("x-confirmed", "token:\(challenge.id)")], path: "/workers/heal") == nil)
    }

    @Test func challengeUsedWithAnotherMethodFailsAndIsBurned() async throws {
        let gate = Self.gate()
        let challenge = try await Self.challenge(gate, method: "POST")
        #expect(try await Self.status(gate, [("x-confirmed", "token:\(challenge.id)")], method: "PUT") == nil)
        #expect(try await Self.status(gate, [("x-confirmed", "token:\(challenge.id)")], method: "POST") == nil)
    }

    @Test func aChallengeNamedByARequestTheGateNeverDecidedIsBurned() async throws {
        let gate = Self.gate()
        let challenge = try await Self.challenge(gate)
        try await gate.burnChallenge(
            namedIn: Self.request("PUT", "/workers/heal", [("x-confirmed", " TOKEN: \(challenge.id)")]),
            now: Self.start
        )
        #expect(try await Self.status(gate, [("x-confirmed", "token:\(challenge.id)")]) == nil)
        // Burning what is already gone, or a header that names no challenge, changes nothing.
        let other = try await Self.challenge(gate)
        try await gate.burnChallenge(
            namedIn: Self.request("POST", "/workers/heal", [("x-confirmed", "yes")]),
            now: Self.start
        )
        try await gate.burnChallenge(
            namedIn: Self.request("POST", "/workers/heal", [("x-confirmed", "token:\(challenge.id)")]),
            now: Self.start
        )
        #expect(try await Self.status(gate, [("x-confirmed", "token:\(other.id)")]) == .challengeToken)
    }

    @Test func challengeExpiresAfterItsTimeToLive() async throws {
        let gate = Self.gate()
        let first = try await Self.challenge(gate)
        let second = try await Self.challenge(gate)
        let ttl = TimeInterval(120)
        let justBefore = Self.start.addingTimeInterval(ttl - 0.001)
        let atExpiry = Self.start.addingTimeInterval(ttl)
        #expect(try await Self.status(gate, [("x-confirmed", "token:\(first.id)")], now: justBefore) == .challengeToken)
        #expect(try await Self.status(gate, [("x-confirmed", "token:\(second.id)")], now: atExpiry) == nil)
    }

    @Test func unknownChallengeIDIsRejected() async throws {
        let gate = Self.gate()
        _ = try await Self.challenge(gate)
        #expect(try await Self.status(gate, [("x-confirmed", "token:0123456789abcdef0123456789abcdef")]) == nil)
        #expect(try await Self.status(gate, [("x-confirmed", "token:")]) == nil)
    }

    // MARK: 3. one-time token

    @Test func oneTimeTokenPassesOnceAsTrustedAutomation() async throws {
        let gate = Self.gate()
        let token = try await gate.mintToken(now: Self.start)
        let decision = try await gate.decide(
            Self.request("POST", "/workers/heal", [("X-Arcanos-Confirm-Token", token.token)]),
            now: Self.start
        )
        #expect(decision == .proceed(ConfirmationContext(status: .oneTimeToken, gptID: nil)))
        #expect(
            try await Self.status(gate, [("x-arcanos-confirm-token", token.token)]) == nil,
            "a reused token must fail"
        )
    }

    @Test func oneTimeTokenWorksOnAnyGatedRoute() async throws {
        let gate = Self.gate()
        let token = try await gate.mintToken(now: Self.start)
        #expect(
            try await Self.status(gate, [("x-arcanos-confirm-token", token.token)], path: "/devops/self-test")
                == .oneTimeToken
        )
    }

    @Test func unknownOrExpiredOneTimeTokenIsRejected() async throws {
        let gate = Self.gate()
        let token = try await gate.mintToken(now: Self.start)
        #expect(token.expiresAt == Self.start.addingTimeInterval(600))
        #expect(try await Self.status(gate, [("x-arcanos-confirm-token", "ffffffffffffffffffffffffffffffff")]) == nil)
        #expect(try await Self.status(gate, [("x-arcanos-confirm-token", String(token.token.dropLast()))]) == nil)
        #expect(try await Self.status(gate, [("x-arcanos-confirm-token", token.token)], now: token.expiresAt) == nil)
    }

    @Test func challengeIDIsNotAOneTimeTokenAndATokenIsNotAChallenge() async throws {
        let gate = Self.gate()
        let challenge = try await Self.challenge(gate)
        #expect(try await Self.status(gate, [("x-arcanos-confirm-token", challenge.id)]) == nil)
        let token = try await gate.mintToken(now: Self.start)
        #expect(try await Self.status(gate, [("x-confirmed", "token:\(token.token)")]) == nil)
    }

    // MARK: 4. automation secret

    @Test(arguments: ["x-arcanos-automation", "X-Arcanos-Automation", "X-ARCANOS-AUTOMATION"])
    func automationSecretUnderTheDefaultHeaderPasses(name: String) async throws {
        let gate = Self.gate()
        #expect(try await Self.status(gate, [(name, Self.secret)]) == .automationSecret)
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
    func wrongAutomationSecretsAreRejected(presented: String) async throws {
        let gate = Self.gate()
        #expect(try await Self.status(gate, [("x-arcanos-automation", presented)]) == nil)
    }

    @Test func secretUnderTheDefaultHeaderIsRejectedWhenACustomHeaderIsConfigured() async throws {
        let gate = Self.gate(header: "X-Ops-Robot")
        #expect(try await Self.status(gate, [("x-arcanos-automation", Self.secret)]) == nil)
        #expect(try await Self.status(gate, [("x-ops-robot", Self.secret)]) == .automationSecret)
        #expect(try await Self.status(gate, [("X-OPS-ROBOT", Self.secret)]) == .automationSecret)
    }

    @Test func noSecretConfiguredMeansTheAutomationHeaderNeverPasses() async throws {
        let gate = Self.gate(secret: nil)
        #expect(try await Self.status(gate, [("x-arcanos-automation", "")]) == nil)
        #expect(try await Self.status(gate, [("x-arcanos-automation", "anything")]) == nil)
        let empty = Self.gate(secret: "")
        #expect(try await Self.status(empty, [("x-arcanos-automation", "")]) == nil)
    }

    @Test func secretRepeatedInTwoHeaderFieldsIsRejected() async throws {
        let gate = Self.gate()
        #expect(
            try await Self.status(gate, [("x-arcanos-automation", Self.secret), ("X-Arcanos-Automation", Self.secret)])
                == nil
        )
    }

    // MARK: 5. trusted GPT

    @Test(arguments: ["x-gpt-id", "X-GPT-ID", "X-Gpt-Id"])
    func trustedGPTIDPassesUnderAnyHeaderCase(name: String) async throws {
        let gate = Self.gate()
        let decision = try await Self.decide(gate, [(name, Self.trustedID)])
        #expect(decision == .proceed(ConfirmationContext(status: .trustedGPT, gptID: Self.trustedID)))
    }

    @Test(arguments: [
        Self.trustedID + "x",
        String(Self.trustedID.dropLast()),
        "x" + Self.trustedID,
        Self.trustedID.uppercased(),
        "",
    ])
    func nearMissGPTIDsAreRejected(gptID: String) async throws {
        let gate = Self.gate()
        #expect(try await Self.status(gate, [("x-gpt-id", gptID)]) == nil)
    }

    @Test func everyConfiguredFineTunedModelIDIsTrusted() async throws {
        let models = ["gpt-4o-mini", "ft:gpt-4o-mini:arcanos:heal:abc123", "ft:other:model"]
        let gate = Self.gate(trusted: [], models: models)
        #expect(try await Self.status(gate, [("x-gpt-id", "ft:gpt-4o-mini:arcanos:heal:abc123")]) == .trustedGPT)
        #expect(try await Self.status(gate, [("x-gpt-id", "ft:other:model")]) == .trustedGPT)
    }

    @Test func untrustedFineTunedIDIsRejected() async throws {
        let gate = Self.gate(trusted: [], models: ["ft:gpt-4o-mini:arcanos:heal:abc123"])
        #expect(try await Self.status(gate, [("x-gpt-id", "ft:gpt-4o-mini:someone-else:heal:abc123")]) == nil)
        #expect(try await Self.status(gate, [("x-gpt-id", "ft:gpt-4o-mini:arcanos:heal:abc12")]) == nil)
    }

    @Test func configuredModelIDsWithoutTheFineTunedPrefixAreNotTrusted() async throws {
        let gate = Self.gate(trusted: [], models: ["gpt-4o-mini"])
        #expect(try await Self.status(gate, [("x-gpt-id", "gpt-4o-mini")]) == nil)
    }

    @Test func gptIDIsReadFromXGPTIDOnly() async throws {
        let gate = Self.gate()
        #expect(try await Self.status(gate, [("x-gpt", Self.trustedID), ("gpt-id", Self.trustedID)]) == nil)
        #expect(try await Self.status(gate, [("x-confirmed", Self.trustedID)]) == nil)
    }

    // MARK: 6. confirmed

    @Test(arguments: ["yes", "YES", " Yes ", "yEs"])
    func xConfirmedYesPassesTrimmedAndCaseInsensitive(value: String) async throws {
        let gate = Self.gate()
        let decision = try await Self.decide(gate, [("X-Confirmed", value)])
        #expect(decision == .proceed(ConfirmationContext(status: .confirmed, gptID: nil)))
    }

    @Test(arguments: ["true", "1", "no", "y", "yes please", "yes, yes", ""])
    func otherXConfirmedValuesAreRejected(value: String) async throws {
        let gate = Self.gate()
        #expect(try await Self.status(gate, [("x-confirmed", value)]) == nil)
    }

    @Test func xConfirmedYesRepeatedInTwoFieldsIsRejected() async throws {
        let gate = Self.gate()
        #expect(try await Self.status(gate, [("x-confirmed", "yes"), ("x-confirmed", "yes")]) == nil)
    }

    // MARK: Order

    @Test func checksRunInTheDesignOrder() async throws {
        let gate = Self.gate()
        let challenge = try await Self.challenge(gate)
        let token = try await gate.mintToken(now: Self.start)
        let everything: [(name: String, value: String)] = [
            ("x-confirmed", "token:\(challenge.id)"),
            ("x-arcanos-confirm-token", token.token),
            ("x-arcanos-automation", Self.secret),
            ("x-gpt-id", Self.trustedID),
        ]
        // The challenge wins and the token is left unused...
        #expect(try await Self.status(gate, everything) == .challengeToken)
        // ...then the token, then the secret, then the GPT id, then a plain yes.
        #expect(try await Self.status(gate, Array(everything.dropFirst())) == .oneTimeToken)
        #expect(try await Self.status(gate, Array(everything.dropFirst(2))) == .automationSecret)
        #expect(try await Self.status(gate, Array(everything.dropFirst(3))) == .trustedGPT)
        #expect(try await Self.status(gate, [("x-gpt-id", "unknown"), ("x-confirmed", "yes")]) == .confirmed)

        let allowAll = Self.gate(allowAll: true)
        #expect(try await Self.status(allowAll, everything) == .autoAllowed)
    }

    @Test func failedChallengeFallsThroughToTheOtherChecks() async throws {
        let gate = Self.gate()
        #expect(
            try await Self.status(gate, [("x-confirmed", "token:nope"), ("x-arcanos-automation", Self.secret)])
                == .automationSecret
        )
    }

    // MARK: Pending

    @Test func unconfirmedRequestGetsAChallengeBoundToItsMethodAndPath() async throws {
        let gate = Self.gate()
        let decision = try await gate.decide(
            Self.request("post", "/workers/run/arcanos", [("x-gpt-id", "stranger")]),
            now: Self.start
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
        #expect(try await gate.challengeCount() == 1)
    }

    @Test func challengeIDsAreUnique() async throws {
        let gate = Self.gate()
        var ids = Set<String>()
        for _ in 0..<1000 {
            guard case .pending(let challenge, _) = try await gate.decide(Self.request(), now: Self.start)
            else { continue }
            ids.insert(challenge.id)
        }
        #expect(ids.count == 1000)
    }

    @Test func instructionsExplainHowToConfirmWithoutNamingTrustedIDsOrTheSecret() async throws {
        let gate = Self.gate(header: "x-ops-robot")
        let challenge = try await Self.challenge(gate)
        let text = challenge.instructions.joined(separator: "\n")
        #expect(text.contains("x-confirmed: token:\(challenge.id)"))
        #expect(text.contains("x-confirmed: yes"))
        for forbidden in [Self.secret, Self.trustedID, "x-ops-robot", "automation", "secret", "x-gpt-id"] {
            #expect(!text.lowercased().contains(forbidden.lowercased()))
        }
    }

    @Test func echoedGPTIDIsCapped() async throws {
        let gate = Self.gate()
        let long = String(repeating: "g", count: 5000)
        guard case .pending(_, let gptID) = try await Self.decide(gate, [("x-gpt-id", long)]) else {
            Issue.record("expected pending")
            return
        }
        #expect(gptID?.count == ConfirmationRequest.maximumEchoedGPTIDLength)
    }

    @Test func challengeStoreStaysAtItsBoundAndEvictsTheOldest() async throws {
        let gate = Self.gate(capacity: 100)
        let oldest = try await Self.challenge(gate)
        var newest = oldest
        for _ in 0..<250 {
            newest = try await Self.challenge(gate)
        }
        #expect(try await gate.challengeCount() == 100)
        #expect(try await Self.status(gate, [("x-confirmed", "token:\(oldest.id)")]) == nil)
        #expect(try await Self.status(gate, [("x-confirmed", "token:\(newest.id)")]) == .challengeToken)
    }

    // MARK: Context and configuration

    @Test(arguments: ConfirmationStatus.allCases)
    func trustedAutomationAndManualConfirmationFollowTheStatus(status: ConfirmationStatus) async throws {
        let context = ConfirmationContext(status: status, gptID: nil)
        let automated: Set<ConfirmationStatus> = [.autoAllowed, .oneTimeToken, .automationSecret, .trustedGPT]
        #expect(context.trustedAutomation == automated.contains(status))
        #expect(context.manualConfirmation == !automated.contains(status))
    }

    @Test func configurationDescriptionHidesTheSecretAndTrustedIDs() async throws {
        let configuration = ConfirmationPolicy.Configuration(
            trustedGPTIDs: [Self.trustedID],
            configuredModelIDs: ["ft:private:model"],
            automationSecret: Self.secret
        )
        let text = "\(configuration)"
        #expect(!text.contains(Self.secret))
        #expect(!text.contains(Self.trustedID))
        #expect(!text.contains("ft:private:model"))
    }

    @Test func automationCredentialForMintingTokens() async throws {
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

    static func decide(_ gate: Gate, _ headers: [(name: String, value: String)]) async throws -> ConfirmationDecision {
        try await gate.decide(Self.request("POST", "/workers/heal", headers), now: Self.start)
    }
}
