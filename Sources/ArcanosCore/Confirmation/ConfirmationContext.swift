/// What the confirmation gate hands to a guarded route: how the request was approved and by whom.
/// `/workers/heal` executes without an explicit request when `trustedAutomation` is true.
public struct ConfirmationContext: Sendable, Hashable {
    public var status: ConfirmationStatus
    /// The `x-gpt-id` the caller sent, trimmed and capped in length; nil when absent. Not proof of anything
    /// unless `status` is `.trustedGPT`.
    public var gptID: String?

    public init(status: ConfirmationStatus, gptID: String?) {
        self.status = status
        self.gptID = gptID
    }

    /// The caller is a trusted automation (see `ConfirmationStatus.isTrustedAutomation`).
    public var trustedAutomation: Bool { self.status.isTrustedAutomation }
    /// A person approved this request (`x-confirmed: yes` or a challenge token).
    public var manualConfirmation: Bool { self.status.isManualConfirmation }
}
