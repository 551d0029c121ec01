import Foundation

/// The confirmation gate's decision, as a pure value: did a person approve this request, or is the caller a
/// trusted automation? It also owns the challenges it issues and the one-time tokens automations mint.
/// Every call takes `now` and a random number generator, so tests need neither a clock nor luck.
///
/// The order of the checks is DESIGN §4 and is documented in docs/confirmation.md.
public struct ConfirmationGateStateMachine: Sendable {
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
        public var tokenFailureLimit: SlidingWindowRateLimiter<ContinuousClock.Instant>.Configuration

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
            tokenFailureLimit: SlidingWindowRateLimiter<ContinuousClock.Instant>.Configuration = .init()
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
    private var challenges: SingleUseStore<ConfirmationChallenge>
    private var tokens: SingleUseStore<OneTimeToken>

    public init(configuration: Configuration = .init()) {
        self.configuration = configuration
        self.trustedGPTIDs = configuration.effectiveTrustedGPTIDs
        self.challenges = SingleUseStore(capacity: max(configuration.challengeCapacity, 1))
        self.tokens = SingleUseStore(capacity: max(configuration.tokenCapacity, 1))
    }

    /// Challenges held, including expired ones not yet dropped; never more than `challengeCapacity`.
    public var challengeCount: Int { self.challenges.count }
    /// One-time tokens held, including expired ones not yet dropped; never more than `tokenCapacity`.
    public var tokenCount: Int { self.tokens.count }

    /// Decides whether `request` passes. Turned away, it gets a new challenge, stored for its method and path.
    public mutating func decide(
        _ request: ConfirmationRequest,
        now: Date,
        using generator: inout some RandomNumberGenerator
    ) -> ConfirmationDecision {
        let gptID = request.gptID
        let echoedGPTID = gptID.map { String($0.prefix(ConfirmationRequest.maximumEchoedGPTIDLength)) }
        if let status = self.approval(of: request, gptID: gptID, now: now) {
            return .proceed(ConfirmationContext(status: status, gptID: echoedGPTID))
        }
        let challenge = ConfirmationChallenge(
            id: generator.randomHex128(),
            method: request.method,
            path: request.path,
            issuedAt: now,
            expiresAt: now.addingTimeInterval(self.configuration.challengeTimeToLive.seconds)
        )
        self.challenges.insert(challenge, key: challenge.id, expiresAt: challenge.expiresAt, now: now)
        return .pending(challenge, gptID: echoedGPTID)
    }

    /// DESIGN §4, in order; nil when nothing approves the request.
    private mutating func approval(of request: ConfirmationRequest, gptID: String?, now: Date) -> ConfirmationStatus? {
        // 1. Everyone is trusted.
        if self.configuration.allowsEveryone { return .autoAllowed }

        // 2. A challenge token. Taking it removes it, so a failed attempt burns it too.
        let confirmed = request.header(ConfirmationRequest.Header.confirmed)?.trimmingWhitespace()
        if let id = Self.challengeID(in: request), let challenge = self.challenges.take(id, now: now),
            challenge.method == request.method, challenge.path == request.path
        {
            return .challengeToken
        }

        // 3. A one-time token, consumed.
        if let token = request.header(ConfirmationRequest.Header.confirmToken)?.trimmingWhitespace(),
            !token.isEmpty, self.tokens.take(token.lowercased(), now: now) != nil
        {
            return .oneTimeToken
        }

        // 4. The automation secret, under the configured header only.
        if self.acceptsAutomationSecret(in: request) { return .automationSecret }

        // 5. A trusted GPT id. Every id is compared, in constant time, so timing shows neither which id
        //    matched nor how much of one did.
        if let gptID {
            var trusted = false
            for id in self.trustedGPTIDs where ConstantTime.equals(gptID, id) {
                trusted = true
            }
            if trusted { return .trustedGPT }
        }

        // 6. A person said yes.
        if confirmed?.lowercased() == "yes" { return .confirmed }
        return nil
    }

    /// The challenge id `x-confirmed: token:<id>` names, lower-cased; nil when the header names none.
    static func challengeID(in request: ConfirmationRequest) -> String? {
        guard let confirmed = request.header(ConfirmationRequest.Header.confirmed)?.trimmingWhitespace(),
            confirmed.lowercased().hasPrefix("token:")
        else { return nil }
        return confirmed.dropFirst("token:".count).trimmingWhitespace().lowercased()
    }

    /// Burns the challenge `request` names, if any, whatever else happens to the request: a try that never
    /// reached the gate (no key, a method or path without a gated route, a body over the limit) uses the
    /// challenge up like one the gate turned down. Already taken, it is a no-op.
    public mutating func burnChallenge(namedIn request: ConfirmationRequest, now: Date) {
        guard let id = Self.challengeID(in: request) else { return }
        _ = self.challenges.take(id, now: now)
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

    /// Mints a one-time token. The caller checks `automationCredential(in:)` first.
    public mutating func mintToken(now: Date, using generator: inout some RandomNumberGenerator) -> OneTimeToken {
        let token = OneTimeToken(
            token: generator.randomHex128(),
            expiresAt: now.addingTimeInterval(self.configuration.tokenTimeToLive.seconds)
        )
        self.tokens.insert(token, key: token.token, expiresAt: token.expiresAt, now: now)
        return token
    }
}
