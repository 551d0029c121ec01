/// Short, redacted excerpts of task inputs and results for telemetry: the first 120 characters, with anything
/// that looks like a credential replaced by `[redacted]`.
public enum InputPreview {
    public static let maximumLength = 120
    public static let redacted = Redactor.placeholder

    /// Redacts first (so a secret cut at the boundary is still caught), then truncates.
    public static func make(_ text: String, maximumLength: Int = Self.maximumLength) -> String {
        // Only a bounded prefix is examined: previews are computed on every dispatch.
        let head = String(text.prefix(maximumLength * 4))
        let clean = Self.redact(head)
        guard clean.count > maximumLength else { return clean }
        return String(clean.prefix(maximumLength))
    }

    /// The shared `Redactor`'s rules: bearer tokens, `key=value` credentials, well-known key formats and long
    /// opaque tokens.
    public static func redact(_ text: String) -> String {
        Redactor.standard.redact(text)
    }
}
