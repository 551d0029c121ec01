/// What the gate decided about one request.
public enum ConfirmationDecision: Sendable, Hashable {
    /// The request passes; the route receives the context.
    case proceed(ConfirmationContext)
    /// The request is turned away with a new challenge (HTTP 403).
    case pending(ConfirmationChallenge, gptID: String?)
}
