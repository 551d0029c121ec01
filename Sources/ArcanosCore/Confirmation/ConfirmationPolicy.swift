import Foundation

/// The confirmation gate's rules, as a pure value: what a request presents, which approvals need nothing
/// stored (the automation secret, a trusted GPT id, `x-confirmed: yes`), and the challenges and tokens it
/// issues. `ConfirmationService` applies them in DESIGN §4's order (docs/confirmation.md), redeeming
/// challenges and tokens in the `SharedStateStore`. Every call takes `now` and a random number generator, so
/// tests need neither a clock nor luck.
public struct ConfirmationPolicy: Sendable {
    public struct Configuration: Sendable, Hashable, CustomStringConvertible {
        /// Trusted GPT ids (`TRUSTED_GPT_IDS`); `*` trusts every caller.
        public var trustedGPTIDs: [String]
        /// Model ids from the configuration (`AI_MODEL`, `OPENAI_MODEL`, `FINETUNED_MODEL_ID`,
        /// `FINE_TUNED_AUTOMATION_GPT_ID`): the fine-tuned ones (`ft:` prefix) are trusted GPT ids.
        public var configuredModelIDs: [String]
        /// Let every request through (`ALLOW_ALL_GPTS`).
        public var allowAllGPTs: Bool
        /// `ARCANOS_AUTOMATION_SECRET`; nil disables the automation header and token minting.
        public var automationSecret: String?
        /// The header carrying the secret (`ARCANOS_AUTOMATION_HEADER`), lower-cased.
        public var automationHeader: String
        /// How long an issued challenge can be used (`CONFIRMATION_CHALLENGE_TTL_MS`).
        public var challengeTimeToLive: Duration
        /// How long a minted one-time token can be used (`ARCANOS_CONFIRM_TOKEN_TTL_MS`).
        public var tokenTimeToLive: Duration
        /// Most challenges held at once (`ARCANOS_CONFIRM_CHALLENGE_MAX`); the oldest goes first.
        public var challengeCapacity: Int
        /// Most one-time tokens held at once; the oldest goes first.
        public var tokenCapacity: Int
        /// Failed automation-secret attempts one client address may make on `POST /confirm/tokens` per window
        /// (`ARCANOS_CONFIRM_TOKEN_RATE_LIMIT_MAX`, `ARCANOS_CONFIRM_TOKEN_RATE_LIMIT_WINDOW_MS`).
        public var tokenFailureLimit: RateLimit

        public init(
            trustedGPTIDs: [String] = [],
            configuredModelIDs: [String] = [],
            allowAllGPTs: Bool = false,
            automationSecret: String? = nil,
            automationHeader: String = ConfirmationRequest.Header.defaultAutomation,
            challengeTimeToLive: Duration = .milliseconds(120_000),
            tokenTimeToLive: Duration = .milliseconds(600_000),
            challengeCapacity: Int = 10_000,
            tokenCapacity: Int = 10_000,
            tokenFailureLimit: RateLimit = .init()
        ) {
            self.trustedGPTIDs = trustedGPTIDs
            self.configuredModelIDs = configuredModelIDs
            self.allowAllGPTs = allowAllGPTs
            self.automationSecret = automationSecret
            self.automationHeader = automationHeader.lowercased()
            self.challengeTimeToLive = challengeTimeToLive
            self.tokenTimeToLive = tokenTimeToLive
            self.challengeCapacity = challengeCapacity
            self.tokenCapacity = tokenCapacity
            self.tokenFailureLimit = tokenFailureLimit
        }

        /// Every id `x-gpt-id` is compared with: the explicit ones and the configured fine-tuned models.
        public var effectiveTrustedGPTIDs: [String] {
            var ids: [String] = []
            for id in self.trustedGPTIDs + self.configuredModelIDs.filter({ $0.hasPrefix("ft:") })
            where !id.isEmpty && id != "*" && !ids.contains(id) {
                ids.append(id)
            }
            return ids
        }

        /// True when every request passes as `auto-allowed`.
        public var allowsEveryone: Bool { self.allowAllGPTs || self.trustedGPTIDs.contains("*") }

        // Deliberately omits the secret and the trusted ids: configurations end up in logs.
        public var description: String {
            "ConfirmationGate(trustedGPTIDs: \(self.effectiveTrustedGPTIDs.count), allowsEveryone: "
                + "\(self.allowsEveryone), automationSecret: \(self.automationSecret == nil ? "unset" : "set"), "
                + "automationHeader: \(self.automationHeader))"
        }
    }

    public let configuration: Configuration
    private let trustedGPTIDs: [String]

    public init(configuration: Configuration = .init()) {
        self.configuration = configuration
        self.trustedGPTIDs = configuration.effectiveTrustedGPTIDs
    }

    /// The GPT id a response may echo: the caller's own, cut to a bounded length.
    public func echoedGPTID(of request: ConfirmationRequest) -> String? {
        request.gptID.map { String($0.prefix(ConfirmationRequest.maximumEchoedGPTIDLength)) }
    }

    /// The challenge id `x-confirmed: token:<id>` names, lower-cased; nil when the header names none.
    public func challengeID(in request: ConfirmationRequest) -> String? {
        guard let confirmed = request.header(ConfirmationRequest.Header.confirmed)?.trimmingWhitespace(),
            confirmed.lowercased().hasPrefix("token:")
        else { return nil }
        return confirmed.dropFirst("token:".count).trimmingWhitespace().lowercased()
    }

    /// Whether a redeemed challenge approves `request`: only the method and path it was issued for.
    public func challenge(_ challenge: ConfirmationGrant, approves request: ConfirmationRequest) -> Bool {
        challenge.kind == .challenge && challenge.method == request.method && challenge.path == request.path
    }

    /// The one-time token `x-arcanos-confirm-token` presents, lower-cased; nil when there is none.
    public func oneTimeToken(in request: ConfirmationRequest) -> String? {
        guard let token = request.header(ConfirmationRequest.Header.confirmToken)?.trimmingWhitespace(),
            !token.isEmpty
        else { return nil }
        return token.lowercased()
    }

    /// DESIGN §4's steps 4 to 6, the approvals that need nothing stored; nil when none applies. (Step 1,
    /// everyone trusted, is `configuration.allowsEveryone`; steps 2 and 3 redeem a challenge or a token.)
    public func standingApproval(of request: ConfirmationRequest) -> ConfirmationStatus? {
        // 4. The automation secret, under the configured header only.
        if self.acceptsAutomationSecret(in: request) { return .automationSecret }

        // 5. A trusted GPT id. Every id is compared, in constant time, so timing shows neither which id
        //    matched nor how much of one did.
        if let gptID = request.gptID {
            var trusted = false
            for id in self.trustedGPTIDs where ConstantTime.equals(gptID, id) {
                trusted = true
            }
            if trusted { return .trustedGPT }
        }

        // 6. A person said yes.
        let confirmed = request.header(ConfirmationRequest.Header.confirmed)?.trimmingWhitespace()
        if confirmed?.lowercased() == "yes" { return .confirmed }
        return nil
    }

    /// A new challenge for `request`'s method and path.
    public func newChallenge(
        for request: ConfirmationRequest,
        now: Date,
        using generator: inout some RandomNumberGenerator
    ) -> ConfirmationChallenge {
        ConfirmationChallenge(
            id: generator.randomHex128(),
            method: request.method,
            path: request.path,
            issuedAt: now,
            expiresAt: now.addingTimeInterval(self.configuration.challengeTimeToLive.seconds)
        )
    }

    /// A new one-time token. The caller checks `automationCredential(in:)` first.
    public func newToken(now: Date, using generator: inout some RandomNumberGenerator) -> OneTimeToken {
        OneTimeToken(
            token: generator.randomHex128(),
            expiresAt: now.addingTimeInterval(self.configuration.tokenTimeToLive.seconds)
        )
    }

    /// Whether the request carries the automation secret under the configured header (never under another).
    public func acceptsAutomationSecret(in request: ConfirmationRequest) -> Bool {
        guard let secret = self.configuration.automationSecret, !secret.isEmpty,
            let presented = request.header(self.configuration.automationHeader)
        else { return false }
        return ConstantTime.equals(presented, secret)
    }

    /// Whether `request` may mint one-time tokens: `.missing` without the automation header, `.rejected` with a
    /// wrong value or when no secret is configured (the two look the same to the caller).
    public func automationCredential(in request: ConfirmationRequest) -> AutomationCredential {
        guard request.header(self.configuration.automationHeader) != nil else { return .missing }
        return self.acceptsAutomationSecret(in: request) ? .accepted : .rejected
    }
}
