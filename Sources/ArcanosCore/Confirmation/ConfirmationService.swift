import Foundation
import Synchronization

/// The confirmation gate's state, shared by the gate middleware and `POST /confirm/tokens`: one
/// `ConfirmationGateStateMachine` behind a lock, with the wall clock and the system's random numbers.
public final class ConfirmationService: Sendable {
    public let configuration: ConfirmationGateStateMachine.Configuration
    private let state: Mutex<ConfirmationGateStateMachine>
    /// Failed automation-secret attempts per client address, on the limiter heals use.
    private let failedMints: Mutex<SlidingWindowRateLimiter<ContinuousClock.Instant>>
    private let now: @Sendable () -> Date

    /// - Parameter now: the clock; tests inject one to expire challenges and tokens.
    public init(
        configuration: ConfirmationGateStateMachine.Configuration = .init(),
        now: @escaping @Sendable () -> Date = { Date() }
    ) {
        self.configuration = configuration
        self.state = Mutex(ConfirmationGateStateMachine(configuration: configuration))
        self.failedMints = Mutex(SlidingWindowRateLimiter(configuration: configuration.tokenFailureLimit))
        self.now = now
    }

    public func decide(_ request: ConfirmationRequest) -> ConfirmationDecision {
        let now = self.now()
        return self.state.withLock { state in
            var generator = SystemRandomNumberGenerator()
            return state.decide(request, now: now, using: &generator)
        }
    }

    /// Burns the challenge `request` names in `x-confirmed`, if any (see the state machine).
    public func burnChallenge(namedIn request: ConfirmationRequest) {
        let now = self.now()
        self.state.withLock { $0.burnChallenge(namedIn: request, now: now) }
    }

    public func automationCredential(in request: ConfirmationRequest) -> AutomationCredential {
        self.state.withLock { $0.automationCredential(in: request) }
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
    /// secret cannot be guessed at network speed.
    public func mintToken(for request: ConfirmationRequest, caller: String) -> TokenMint {
        let instant = ContinuousClock.now
        if let retryAfter = self.failedMints.withLock({ $0.retryAfter(caller: caller, now: instant) }) {
            return .rateLimited(retryAfter: retryAfter)
        }
        switch self.automationCredential(in: request) {
        case .missing:
            return .missing
        case .rejected:
            _ = self.failedMints.withLock { $0.acquire(caller: caller, now: instant) }
            return .rejected
        case .accepted:
            return .minted(self.mintToken())
        }
    }

    /// Mints a one-time token. The caller checks `automationCredential(in:)` first.
    public func mintToken() -> OneTimeToken {
        let now = self.now()
        return self.state.withLock { state in
            var generator = SystemRandomNumberGenerator()
            return state.mintToken(now: now, using: &generator)
        }
    }

    /// Challenges held; bounded by `challengeCapacity`.
    public var challengeCount: Int { self.state.withLock { $0.challengeCount } }
    /// One-time tokens held; bounded by `tokenCapacity`.
    public var tokenCount: Int { self.state.withLock { $0.tokenCount } }
}
