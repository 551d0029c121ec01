import Foundation

/// One readiness prompt the self-test sends to `/ask`. `expectation` says, for the people reading the log,
/// what a healthy answer looks like; the pass criterion itself is fixed: HTTP 200 with a live, non-empty model
/// answer. A model's wording is not a health signal, so answers are never matched against the expectation.
public struct SelfTestPrompt: Sendable, Hashable, Codable {
    public var id: String
    public var prompt: String
    public var expectation: String

    public init(id: String, prompt: String, expectation: String) {
        self.id = id
        self.prompt = prompt
        self.expectation = expectation
    }

    /// An online/readiness check, a memory-context summary and a module-routing answer in JSON.
    public static let defaults: [SelfTestPrompt] = [
        SelfTestPrompt(
            id: "readiness",
            prompt: "Self-test: are you online and ready to answer requests? Reply in one short sentence.",
            expectation: "a live answer confirming the model is reachable"
        ),
        SelfTestPrompt(
            id: "memory-context",
            prompt: "Self-test: summarize in two sentences what context you keep between requests in this session.",
            expectation: "a live, non-empty summary"
        ),
        SelfTestPrompt(
            id: "module-routing",
            prompt: "Self-test: which module should handle a request to restart the worker pool? Answer only with "
                + "JSON of the form {\"module\": \"<name>\", \"reason\": \"<short reason>\"}.",
            expectation: "a live answer naming a module, in JSON"
        ),
    ]

    public static let maximumCount = 10
    public static let maximumPromptLength = 2000
    public static let maximumExpectationLength = 300

    /// Parses `SELF_TEST_PROMPTS`: a JSON array whose elements are prompt strings or
    /// `{"id", "prompt", "expectation"?}` objects. Throws a message naming what is wrong (never echoing a prompt).
    public static func parseList(_ text: String) throws(SelfTestPromptListError) -> [SelfTestPrompt] {
        guard let value = try? JSONDecoder().decode(JSONValue.self, from: Data(text.utf8)),
            case .array(let elements) = value
        else { throw SelfTestPromptListError("must be a JSON array of strings or {id, prompt, expectation} objects") }
        guard (1...Self.maximumCount).contains(elements.count) else {
            throw SelfTestPromptListError("must hold 1 to \(Self.maximumCount) prompts")
        }
        var prompts: [SelfTestPrompt] = []
        for (index, element) in elements.enumerated() {
            let position = "prompt \(index + 1)"
            switch element {
            case .string(let prompt):
                prompts.append(SelfTestPrompt(id: "prompt-\(index + 1)", prompt: prompt, expectation: "a live answer"))
            case .object(let object):
                let unknown = Set(object.keys).subtracting(["id", "prompt", "expectation"])
                guard unknown.isEmpty else { throw SelfTestPromptListError("\(position) has unknown fields") }
                guard let prompt = object["prompt"]?.stringValue else {
                    throw SelfTestPromptListError("\(position) needs a string \"prompt\"")
                }
                let id = object["id"]?.stringValue ?? "prompt-\(index + 1)"
                let expectation = object["expectation"]?.stringValue ?? "a live answer"
                prompts.append(SelfTestPrompt(id: id, prompt: prompt, expectation: expectation))
            default:
                throw SelfTestPromptListError("\(position) must be a string or an object")
            }
        }
        for (index, prompt) in prompts.enumerated() {
            let position = "prompt \(index + 1)"
            guard Self.isValidID(prompt.id) else {
                throw SelfTestPromptListError("\(position) needs an id of 1 to 64 characters from A-Z a-z 0-9 . _ -")
            }
            let trimmed = prompt.prompt.trimmingWhitespace()
            guard !trimmed.isEmpty, prompt.prompt.count <= Self.maximumPromptLength else {
                throw SelfTestPromptListError("\(position) must be 1 to \(Self.maximumPromptLength) characters")
            }
            guard prompt.expectation.count <= Self.maximumExpectationLength else {
                throw SelfTestPromptListError(
                    "\(position) has an expectation over \(Self.maximumExpectationLength) characters"
                )
            }
        }
        guard Set(prompts.map(\.id)).count == prompts.count else {
            throw SelfTestPromptListError("prompt ids must be unique")
        }
        return prompts
    }

    static func isValidID(_ id: String) -> Bool {
        let allowed = Set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-")
        return (1...64).contains(id.count) && id.allSatisfy(allowed.contains)
    }
}

/// Why a `SELF_TEST_PROMPTS` value was rejected.
public struct SelfTestPromptListError: Error, Sendable, Hashable {
    public var reason: String

    public init(_ reason: String) {
        self.reason = reason
    }
}
