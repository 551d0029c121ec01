/// The result of checking the automation credentials of a request to mint a token.
public enum AutomationCredential: Sendable, Hashable {
    case accepted
    /// No automation header: HTTP 401.
    case missing
    /// A wrong value, or no secret configured: HTTP 403.
    case rejected
}
