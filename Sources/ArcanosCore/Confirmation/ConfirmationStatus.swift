/// How a request through the confirmation gate was approved; sent back as `x-confirmation-status`.
public enum ConfirmationStatus: String, Sendable, Hashable, CaseIterable, Codable {
    /// `ALLOW_ALL_GPTS=true`, or `*` in `TRUSTED_GPT_IDS`.
    case autoAllowed = "auto-allowed"
    /// `x-confirmed: token:<challengeId>` named a live challenge issued for this method and path.
    case challengeToken = "challenge-token"
    /// `x-arcanos-confirm-token` named a live one-time token.
    case oneTimeToken = "one-time-token"
    /// The automation header carried `ARCANOS_AUTOMATION_SECRET`.
    case automationSecret = "automation-secret"
    /// `x-gpt-id` named a trusted GPT id.
    case trustedGPT = "trusted-gpt"
    /// `x-confirmed: yes`.
    case confirmed = "confirmed"

    /// The value of `x-confirmation-status` on a request the gate turned away.
    public static let pendingValue = "pending"

    /// Approvals that come from a configured automation rather than from a person at the moment of the
    /// request. One-time tokens count: only a holder of the automation secret can mint them.
    public var isTrustedAutomation: Bool {
        switch self {
        case .autoAllowed, .oneTimeToken, .automationSecret, .trustedGPT: true
        case .challengeToken, .confirmed: false
        }
    }

    /// Approvals that a person gave for this request.
    public var isManualConfirmation: Bool { !self.isTrustedAutomation }
}
