import Foundation

/// An error as the public status shows it: a category and a short message with paths, keys and tokens
/// removed. The full text stays in logs and the detail view.
public struct ErrorSummary: Sendable, Hashable, Codable {
    public enum Category: String, Sendable, Hashable, Codable, CaseIterable {
        case timeout
        case hung
        case crash
        case model
        case invalidDefinition = "invalid_definition"
        case cancelled
        case error
    }

    public var category: Category
    public var message: String

    public static let maximumMessageLength = 160

    public init(category: Category, message: String) {
        self.category = category
        self.message = message
    }

    /// Classifies and redacts `text`; `category` overrides the guess when the caller knows better.
    public init(_ text: String, category: Category? = nil) {
        self.init(category: category ?? Self.classify(text), message: Self.redact(text))
    }

    static func classify(_ text: String) -> Category {
        let lower = text.lowercased()
        func has(_ words: String...) -> Bool { words.contains { lower.contains($0) } }
        if has("cancel") { return .cancelled }
        if has("hung", "heartbeat") { return .hung }
        if has("timeout", "timed out", "deadline") { return .timeout }
        if has("crash", "signal", "killed", "exit", "exited") { return .crash }
        if has("llm", "model", "rate_limited", "rate limit", "circuit", "upstream", "server_error", "not_configured") {
            return .model
        }
        return .error
    }

    /// Infrastructure detail a public status does not show; credentials are `Redactor`'s.
    private static let infrastructure: [(NSRegularExpression, String)] = [
        (#"[A-Za-z]+://[^\s"']+"#, "<url>"),
        (#"(^|[\s"'(=:])(~?/[^\s"'):,;]+)"#, "$1<path>"),
    ].map { (try! NSRegularExpression(pattern: $0.0), $0.1) }

    /// Removes credentials (through `Redactor`, like every log line and file), URLs and absolute paths,
    /// collapses whitespace and cuts to 160 characters.
    public static func redact(_ text: String) -> String {
        var result = Redactor.standard.redact(text)
        for (pattern, replacement) in Self.infrastructure {
            result = Self.replace(pattern, in: result, with: replacement)
        }
        result = result.split(whereSeparator: \.isWhitespace).joined(separator: " ")
        if result.count > Self.maximumMessageLength {
            result = String(result.prefix(Self.maximumMessageLength - 1)) + "…"
        }
        return result
    }

    private static func replace(_ pattern: NSRegularExpression, in text: String, with template: String) -> String {
        pattern.stringByReplacingMatches(
            in: text,
            range: NSRange(text.startIndex..., in: text),
            withTemplate: template
        )
    }
}
