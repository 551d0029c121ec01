import Foundation
import Logging

/// The one redactor of Arcanos: every log line (through `RedactingLogHandler`) and every persisted report
/// (state file, heal audit, self-test history) goes through it, so a key, a secret, a bearer token or a long
/// prompt never reaches a log shipper or a file an operator may paste into a ticket.
///
/// Three rules, in order:
/// - a value stored under a secret-looking name (`apiKey`, `authorization`, `x-arcanos-automation`,
///   `*_secret`, `*_token`, …) is replaced whole;
/// - inside any text, bearer/basic credentials, `name=value` / `name: value` credentials, well-known key
///   formats (`sk-…`, `ghp_…`, `AKIA…`, JWTs) and long opaque tokens become `[redacted]`;
/// - a value stored under a prompt-like name (`prompt`, `input`, `text`, `content`, …) is cut after
///   `maximumPromptLength` characters (120).
public struct Redactor: Sendable {
    public static let placeholder = "[redacted]"
    public static let standard = Redactor()

    /// Characters of prompt-like text kept; the rest becomes `…`.
    public var maximumPromptLength: Int
    /// Lowercased header or field names whose whole value is a credential (the automation header's custom
    /// name belongs here).
    public var secretNames: Set<String>

    public init(maximumPromptLength: Int = 120, additionalSecretNames: Set<String> = []) {
        self.maximumPromptLength = maximumPromptLength
        self.secretNames = Self.defaultSecretNames.union(additionalSecretNames.map { $0.lowercased() })
    }

    static let defaultSecretNames: Set<String> = [
        "authorization", "proxy-authorization", "cookie", "set-cookie", "x-arcanos-automation",
        "x-arcanos-confirm-token", "apikey", "api_key", "api-key", "key", "secret", "token", "password",
        "passwd", "credential", "credentials", "openai_api_key", "arcanos_api_keys", "arcanos_automation_secret",
    ]

    static let secretSuffixes = ["_key", "-key", "apikey", "_keys", "secret", "_token", "-token", "password"]
    static let promptNames: Set<String> = [
        "prompt", "input", "text", "content", "query", "inputpreview", "lastinputpreview", "messages",
    ]

    // MARK: Text

    /// Replaces credentials found anywhere in `text`.
    public func redact(_ text: String) -> String {
        guard Self.mayContainSecret(text) else { return text }
        var result = text
        for (pattern, template) in Self.patterns {
            let range = NSRange(result.startIndex..., in: result)
            result = pattern.stringByReplacingMatches(in: result, range: range, withTemplate: template)
        }
        return result
    }

    /// `redact`, then cut to `maximumPromptLength` characters.
    public func redactPrompt(_ text: String) -> String {
        let clean = self.redact(text)
        guard clean.count > self.maximumPromptLength else { return clean }
        return String(clean.prefix(self.maximumPromptLength)) + "…"
    }

    /// What is kept of the value of `name`: nothing for a secret name, a cut redacted text for a prompt name,
    /// a redacted text otherwise.
    public func redact(_ text: String, named name: String) -> String {
        self.redact(text, kind: self.classify(name))
    }

    // MARK: Structured values

    /// Redacts a JSON document: object members by their names, strings by their content.
    public func redact(_ value: JSONValue, named name: String? = nil) -> JSONValue {
        let kind = name.map(self.classify) ?? .plain
        switch value {
        case .string(let text):
            return .string(self.redact(text, kind: kind))
        case .object(let members):
            guard kind != .secret else { return .string(Self.placeholder) }
            var redacted: [String: JSONValue] = [:]
            for (key, member) in members {
                redacted[key] = self.redact(member, named: key)
            }
            return .object(redacted)
        case .array(let elements):
            guard kind != .secret else { return .string(Self.placeholder) }
            // Elements inherit their array's name: `prompts: [...]` is prompt text too.
            return .array(elements.map { self.redact($0, named: name) })
        case .null, .bool, .number:
            return kind == .secret && value != .null ? .string(Self.placeholder) : value
        }
    }

    /// Redacts a record about to be persisted, keeping its type: a secret-named member becomes
    /// `[redacted]` only where the type holds a string, otherwise keeps the type's own value.
    public func redact<Record: Codable>(_ record: Record) throws -> Record {
        let data = try JSONEncoder().encode(record)
        let value = try JSONDecoder().decode(JSONValue.self, from: data)
        let redacted = self.redactKeepingShape(value, named: nil)
        return try JSONDecoder().decode(Record.self, from: try JSONEncoder().encode(redacted))
    }

    /// Redacts a JSON document about to be written to a file (`systemState.json`, `logs/healthcheck.json`),
    /// keeping its shape and the files' formatting (sorted keys, pretty printed, final newline). Fails closed:
    /// bytes that are not JSON cannot be checked, so they throw rather than reach the disk as they are.
    public func redactDocument(_ data: Data) throws -> Data {
        let value: JSONValue
        do {
            value = try JSONDecoder().decode(JSONValue.self, from: data)
        } catch {
            throw ArcanosError(
                .internalError,
                "Document is not JSON and cannot be redacted; not written",
                underlying: error
            )
        }
        let redacted = self.redactKeepingShape(value, named: nil)
        guard redacted != value else { return data }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes]
        var output = try encoder.encode(redacted)
        output.append(0x0A)
        return output
    }

    /// Like `redact(_:named:)`, but never changes a value's JSON type, so the record still decodes.
    private func redactKeepingShape(_ value: JSONValue, named name: String?) -> JSONValue {
        let kind = name.map(self.classify) ?? .plain
        switch value {
        case .string(let text):
            return .string(self.redact(text, kind: kind))
        case .object(let members):
            var redacted: [String: JSONValue] = [:]
            for (key, member) in members {
                redacted[key] = self.redactKeepingShape(member, named: key)
            }
            return .object(redacted)
        case .array(let elements):
            return .array(elements.map { self.redactKeepingShape($0, named: name) })
        case .null, .bool, .number:
            return value
        }
    }

    /// Redacts log metadata: values by their keys' names and contents, recursively.
    public func redact(_ metadata: Logger.Metadata) -> Logger.Metadata {
        var redacted: Logger.Metadata = [:]
        for (key, value) in metadata {
            redacted[key] = self.redact(value, named: key)
        }
        return redacted
    }

    private func redact(_ value: Logger.Metadata.Value, named name: String) -> Logger.Metadata.Value {
        let kind = self.classify(name)
        switch value {
        case .string(let text):
            return .string(self.redact(text, kind: kind))
        case .stringConvertible(let convertible):
            return .string(self.redact(convertible.description, kind: kind))
        case .array(let elements):
            guard kind != .secret else { return .string(Self.placeholder) }
            return .array(elements.map { self.redact($0, named: name) })
        case .dictionary(let members):
            guard kind != .secret else { return .string(Self.placeholder) }
            return .dictionary(self.redact(members))
        }
    }

    // MARK: Names

    enum Kind {
        case secret, prompt, plain
        /// An id (`hb.request.id`, `job_id`, `heal.principal`): a single token is kept even when it looks opaque.
        case identifier
    }

    /// Looks at the last component of dotted metadata keys (`http.authorization`, `job.input`).
    func classify(_ name: String) -> Kind {
        let lowered = name.lowercased()
        let last = lowered.split(separator: ".").last.map(String.init) ?? lowered
        if self.secretNames.contains(lowered) || self.secretNames.contains(last)
            || Self.secretSuffixes.contains(where: { last.hasSuffix($0) })
        {
            return .secret
        }
        let squashed = last.replacingOccurrences(of: "_", with: "").replacingOccurrences(of: "-", with: "")
        if Self.promptNames.contains(squashed) || squashed.hasSuffix("prompt") { return .prompt }
        if last == "id" || last.hasSuffix("_id") || last.hasSuffix("-id") || name.hasSuffix("Id") || last == "principal"
        {
            return .identifier
        }
        return .plain
    }

    private func redact(_ text: String, kind: Kind) -> String {
        switch kind {
        case .secret: Self.placeholder
        case .prompt: self.redactPrompt(text)
        case .plain: self.redact(text)
        case .identifier: Self.isSingleToken(text) ? text : self.redact(text)
        }
    }

    private static func isSingleToken(_ text: String) -> Bool {
        text.utf8.count <= 128
            && text.utf8.allSatisfy { byte in
                switch byte {
                case UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "a")...UInt8(ascii: "z"),
                    UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "-"),
                    UInt8(ascii: ":"):
                    true
                default: false
                }
            }
    }

    // MARK: Patterns

    /// Most log values are short words and numbers: skip the expressions unless a trigger is present
    /// (a separator a credential could follow, or a run of token characters as long as the shortest key).
    private static func mayContainSecret(_ text: String) -> Bool {
        var run = 0
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "="), UInt8(ascii: ":"), UInt8(ascii: " "), UInt8(ascii: "\t"):
                return true
            case UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "a")...UInt8(ascii: "z"),
                UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "+"), UInt8(ascii: "/"), UInt8(ascii: "."),
                UInt8(ascii: "-"), UInt8(ascii: "_"):
                run += 1
                if run >= 9 { return true }
            default:
                run = 0
            }
        }
        return false
    }

    private static let patterns: [(NSRegularExpression, String)] = [
        // `Bearer abc`, `Basic abc`: keep the scheme.
        (#"(?i)\b(bearer|basic)(\s+)[A-Za-z0-9._~+/=-]+"#, "$1$2[redacted]"),
        // `api_key=…`, `"token": "…"`, `password: …`, `x-arcanos-automation: …`: keep the name.
        (
            #"(?i)((?:api[_-]?keys?|apikey|access[_-]?key|secret[_-]?key|client[_-]?secret|secret|token|password|passwd|authorization|x-arcanos-automation|x-arcanos-confirm-token)["']?\s*[:=]\s*["']?)(?!\[redacted\])[^\s"',;&}]{4,}"#,
            "$1[redacted]"
        ),
        // Well-known key formats.
        (#"\b(?:sk|pk|rk)-[A-Za-z0-9_-]{6,}"#, "[redacted]"),
        (#"\b(?:ghp|gho|ghs|ghu|github_pat|xox[abpr])[_-][A-Za-z0-9_-]{8,}"#, "[redacted]"),
        (#"\bAKIA[0-9A-Z]{16}\b"#, "[redacted]"),
        (#"\beyJ[A-Za-z0-9_-]{6,}\.[A-Za-z0-9_-]{6,}\.[A-Za-z0-9_-]*"#, "[redacted]"),
        // Long opaque tokens (hex or base64 keys): 32+ characters with a digit and a letter. UUIDs have dashes
        // every 12 characters at most, so ids stay readable.
        (
            #"(?<![A-Za-z0-9_+/=])(?=[A-Za-z0-9_+/=]*[0-9])(?=[A-Za-z0-9_+/=]*[A-Za-z])[A-Za-z0-9_+/=]{32,}"#,
            "[redacted]"
        ),
    ].map { (try! NSRegularExpression(pattern: $0.0), $0.1) }
}
