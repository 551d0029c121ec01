/// Short, redacted excerpts of task inputs and results for telemetry: the first 120 characters, with anything
/// that looks like a credential replaced by `[redacted]`.
public enum InputPreview {
    public static let maximumLength = 120
    public static let redacted = "[redacted]"

    /// Redacts first (so a secret cut at the boundary is still caught), then truncates.
    public static func make(_ text: String, maximumLength: Int = Self.maximumLength) -> String {
        // Only a bounded prefix is examined: previews are computed on every dispatch.
        let head = String(text.prefix(maximumLength * 4))
        let clean = Self.redact(head)
        guard clean.count > maximumLength else { return clean }
        return String(clean.prefix(maximumLength))
    }

    /// Replaces bearer tokens, `key=value` credentials, well-known key formats and long opaque tokens.
    public static func redact(_ text: String) -> String {
        var text = text
        for pattern in Self.patterns {
            text = text.replacing(pattern) { (match: Regex<AnyRegexOutput>.Match) -> String in
                // Keep the label of `password: …`-style matches so the preview stays readable.
                let label = match.output.count > 1 ? match.output[1].substring.map(String.init) ?? "" : ""
                return label + Self.redacted
            }
        }
        return text
    }

    // Each pattern has one capture: a label to keep in front of the redaction (often empty).
    nonisolated(unsafe) private static let patterns: [Regex<AnyRegexOutput>] = [
        try! Regex(#"(?i)(bearer\s+)[A-Za-z0-9._~+/=-]+"#),
        try! Regex(
            #"(?i)((?:api[_-]?key|apikey|token|secret|password|passwd|authorization|access[_-]?key)["']?\s*[:=]\s*["']?)[^\s"',;]+"#
        ),
        try! Regex(#"()\b(?:sk|pk|rk)-[A-Za-z0-9_-]{8,}"#),
        try! Regex(#"()\b(?:ghp|gho|ghs|github_pat|xox[abp])_[A-Za-z0-9_]{8,}"#),
        try! Regex(#"()\bAKIA[0-9A-Z]{16}\b"#),
        try! Regex(#"()\beyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]+"#),
        // Anything 32+ characters of token alphabet with at least one digit: hex keys, base64 secrets.
        try! Regex(#"()\b(?=[A-Za-z0-9_+/=-]*[0-9])[A-Za-z0-9_+/=-]{32,}"#),
    ]
}
