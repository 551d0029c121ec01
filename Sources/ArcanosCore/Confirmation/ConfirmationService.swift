import Foundation

/// The confirmation gate, shared by the gate middleware and `POST /confirm/tokens`: `ConfirmationPolicy`'s
/// rules applied in DESIGN §4's order, with the challenges, one-time tokens and the failed-mint counter in a
/// `SharedStateStore`, so a challenge issued by one replica passes once on any other. It reads the wall
/// clock and the system's random numbers.
public final class ConfirmationService: Sendable {
    public let policy: ConfirmationPolicy
    private let store: any SharedStateStore
    private let now: @Sendable () -> Date

    /// - Parameters:
    ///   - store: where challenges, tokens and failed mints are kept (the server's shared state).
    ///   - now: the clock; tests inject one to expire challenges and tokens.
    public init(
        configuration: ConfirmationPolicy.Configuration = .init(),
        store: any SharedStateStore = InMemorySharedStateStore(),
        now: @escaping @Sendable () -> Date = { Date() }
    ) {
        self.policy = ConfirmationPolicy(configuration: configuration)
        self.store = store
        self.now = now
    }

    public var configuration: ConfirmationPolicy.Configuration { self.policy.configuration }

    /// Decides whether `request` passes. Turned away, it gets a new challenge, stored for its method and path.
    /// Throws `storeUnavailable` when the request presents a challenge or token, or needs a challenge, and the
    /// store cannot be reached.
    public func decide(_ request: ConfirmationRequest) async throws -> ConfirmationDecision {
        let now = self.now()
        let policy = self.policy
        let gptID = policy.echoedGPTID(of: request)
        func proceed(_ status: ConfirmationStatus) -> ConfirmationDecision {
            .proceed(ConfirmationContext(status: status, gptID: gptID))
        }
        // 1. Everyone is trusted.
        if policy.configuration.allowsEveryone { return proceed(.autoAllowed) }
        // 2. A challenge token. Taking it removes it, so a failed attempt burns it too.
        if let id = policy.challengeID(in: request),
            let challenge = try await self.store.take(.challenge, id: id, now: now),
            policy.challenge(challenge, approves: request)
        {
            return proceed(.challengeToken)
        }
        // 3. A one-time token, consumed.
        if let token = policy.oneTimeToken(in: request), try await self.store.take(.token, id: token, now: now) != nil {
            return proceed(.oneTimeToken)
        }
        // 4 to 6.
        if let status = policy.standingApproval(of: request) { return proceed(status) }
        var generator = SystemRandomNumberGenerator()
        let challenge = policy.newChallenge(for: request, now: now, using: &generator)
        try await self.store.insert(
            ConfirmationGrant(challenge),
            capacity: policy.configuration.challengeCapacity,
            now: now
        )
        return .pending(challenge, gptID: gptID)
    }

    /// Burns the challenge `request` names in `x-confirmed`, if any, whatever else happens to the request: a
    /// try that never reached the gate (no key, a method or path without a gated route, a body over the limit)
    /// uses the challenge up like one the gate turned down. Already taken, it is a no-op.
    public func burnChallenge(namedIn request: ConfirmationRequest) async throws {
        guard let id = self.policy.challengeID(in: request) else { return }
        _ = try await self.store.take(.challenge, id: id, now: self.now())
    }

    public func automationCredential(in request: ConfirmationRequest) -> AutomationCredential {
        self.policy.automationCredential(in: request)
    }

    /// What `POST /confirm/tokens` answers.
    public enum TokenMint: Sendable, Hashable {
        case minted(OneTimeToken)
        /// No automation header: HTTP 401.
        case missing
        /// A wrong secret, or none configured: HTTP 403. Counted against the caller.
        case rejected
        /// The caller failed too often within the window: HTTP 429, whatever it sent this time.
        case rateLimited(retryAfter: Duration)
    }

    /// Mints a token for `request` when it carries the automation secret. A caller (its client address) that
    /// sent a wrong secret too often is refused for a while before its credentials are even looked at, so the
    /// secret cannot be guessed at network speed; the count is shared by every replica.
    public func mintToken(for request: ConfirmationRequest, caller: String) async throws -> TokenMint {
        let now = self.now()
        let limit = self.configuration.tokenFailureLimit
        let scope = RateLimitScope.confirmToken
        if let retryAfter = try await self.store.retryAfter(scope: scope, caller: caller, limit: limit, now: now) {
            return .rateLimited(retryAfter: retryAfter)
        }
        switch self.automationCredential(in: request) {
        case .missing:
            return .missing
        case .rejected:
            _ = try await self.store.acquire(scope: scope, caller: caller, limit: limit, now: now)
            return .rejected
        case .accepted:
            return .minted(try await self.mintToken())
        }
    }

    /// Mints a one-time token. The caller checks `automationCredential(in:)` first.
    public func mintToken() async throws -> OneTimeToken {
        let now = self.now()
        var generator = SystemRandomNumberGenerator()
        let token = self.policy.newToken(now: now, using: &generator)
        try await self.store.insert(
            ConfirmationGrant(token, issuedAt: now),
            capacity: self.configuration.tokenCapacity,
            now: now
        )
        return token
    }

    /// Challenges held; bounded by `challengeCapacity`.
    public func challengeCount() async throws -> Int { try await self.store.count(.challenge) }
    /// One-time tokens held; bounded by `tokenCapacity`.
    public func tokenCount() async throws -> Int { try await self.store.count(.token) }
}
