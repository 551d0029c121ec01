/// A chat-completions request in OpenAI's wire format, as a client of `/v1/chat/completions` sent it.
/// Everything but `model` is passed to the upstream as it came (messages, tools, tool_choice,
/// response_format, …): Arcanos decides where a call goes, not what it says.
public struct ChatCompletionRequest: Sendable, Hashable {
    /// The request's members; `model` is replaced by each model of the fallback chain in turn.
    public var body: [String: JSONValue]
    /// The model the client named.
    public var model: String
    /// `stream: true`: the answer comes back as server-sent events.
    public var stream: Bool

    /// Validates the members the door reads itself; the upstream judges the rest.
    public init(_ value: JSONValue) throws(ArcanosError) {
        guard case .object(let body) = value else {
            throw ArcanosError.invalidRequest("request body must be a JSON object")
        }
        guard case .string(let model)? = body["model"], !model.isBlank else {
            throw ArcanosError.invalidRequest("model is required and must be a string")
        }
        guard case .array(let messages)? = body["messages"], !messages.isEmpty else {
            throw ArcanosError.invalidRequest("messages is required and must be a non-empty array")
        }
        for (index, message) in messages.enumerated() {
            guard case .object = message else {
                throw ArcanosError.invalidRequest("messages[\(index)] must be an object")
            }
            guard case .string? = message["role"] else {
                throw ArcanosError.invalidRequest("messages[\(index)].role is required and must be a string")
            }
        }
        switch body["stream"] {
        case nil, .null?, .bool?: break
        default: throw ArcanosError.invalidRequest("stream must be a boolean")
        }
        switch body["stream_options"] {
        case nil, .null?, .object?: break
        default: throw ArcanosError.invalidRequest("stream_options must be an object")
        }
        for key in ["temperature", "top_p"] {
            switch body[key] {
            case nil, .null?, .number?: break
            default: throw ArcanosError.invalidRequest("\(key) must be a number")
            }
        }
        for key in ["max_tokens", "max_completion_tokens", "n"] {
            switch body[key] {
            case nil, .null?: break
            case .number(let value)? where value.rounded() == value && value >= 1: break
            default: throw ArcanosError.invalidRequest("\(key) must be a positive integer")
            }
        }
        self.body = body
        self.model = model
        if case .bool(true)? = body["stream"] { self.stream = true } else { self.stream = false }
    }

    /// The body sent to `model`: the client's members, with `model` replaced.
    public func body(for model: String) -> [UInt8] {
        var body = self.body
        body["model"] = .string(model)
        var writer = JSONWriter()
        writer.json(.object(body))
        return writer.bytes
    }
}
