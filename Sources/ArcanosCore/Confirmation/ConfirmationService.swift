import Foundation
import Synchronization

/// The confirmation gate's state, shared by the gate middleware and `POST /confirm/tokens`: one
/// `ConfirmationGateStateMachine` behind a lock, with the wall clock and the system's random numbers.
public final class ConfirmationService: Sendable {
    public let configuration: ConfirmationGateStateMachine.Configuration
    private let state: Mutex<ConfirmationGateStateMachine>
    private let now: @Sendable () -> Date

    /// - Parameter now: the clock; tests inject one to expire challenges and tokens.
    public init(
        configuration: ConfirmationGateStateMachine.Configuration = .init(),
        now: @escaping @Sendable () -> Date = { Date() }
    ) {
        self.configuration = configuration
        self.state = Mutex(ConfirmationGateStateMachine(configuration: configuration))
        self.now = now
    }

    public func decide(_ request: ConfirmationRequest) -> ConfirmationDecision {
        let now = self.now()
        return self.state.withLock { state in
            var generator = SystemRandomNumberGenerator()
            return state.decide(request, now: now, using: &generator)
        }
    }

    public func automationCredential(in request: ConfirmationRequest) -> AutomationCredential {
        self.state.withLock { $0.automationCredential(in: request) }
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
