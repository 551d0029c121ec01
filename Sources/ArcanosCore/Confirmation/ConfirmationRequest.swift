import Foundation

/// The parts of an HTTP request the confirmation gate looks at, free of any HTTP framework type.
/// Header names are case-insensitive.
public struct ConfirmationRequest: Sendable, Hashable {
    /// Names of the headers the gate reads (the automation header's name is configurable).
    public enum Header {
        public static let confirmed = "x-confirmed"
        public static let gptID = "x-gpt-id"
        public static let confirmToken = "x-arcanos-confirm-token"
        public static let defaultAutomation = "x-arcanos-automation"
        /// Headers whose meaning is fixed, so the automation header may not take one of their names.
        public static let reserved: Set<String> = [confirmed, gptID, confirmToken]

        /// Whether `name` can carry the automation secret: an HTTP token (RFC 9110) that is not one of the
        /// gate's other headers, nor `authorization` or `cookie`, which carry other credentials.
        public static func isValidAutomationHeader(_ name: String) -> Bool {
            let lowered = name.lowercased()
            let tokenCharacters = Set("abcdefghijklmnopqrstuvwxyz0123456789!#$%&'*+-.^_`|~")
            return !lowered.isEmpty && lowered.allSatisfy(tokenCharacters.contains)
                && !Self.reserved.contains(lowered) && lowered != "authorization" && lowered != "cookie"
        }
    }

    /// Longest `x-gpt-id` echoed back in a body or a log line.
    public static let maximumEchoedGPTIDLength = 200

    /// Upper-cased, as `POST`.
    public var method: String
    public var path: String
    private var headers: [String: String]

    /// A header that appears more than once keeps all its values joined by ", ", as HTTP combines them; such a
    /// value matches no secret, token or `yes`, so repeating a header never helps a caller.
    public init(method: String, path: String, headers: some Sequence<(name: String, value: String)>) {
        self.method = method.uppercased()
        self.path = path
        var combined: [String: String] = [:]
        for (name, value) in headers {
            let name = name.lowercased()
            if let existing = combined[name] {
                combined[name] = existing + ", " + value
            } else {
                combined[name] = value
            }
        }
        self.headers = combined
    }

    public init(method: String, path: String, headers: [String: String] = [:]) {
        self.init(method: method, path: path, headers: headers.map { (name: $0.key, value: $0.value) })
    }

    /// The value of the header `name`, in any case.
    public func header(_ name: String) -> String? {
        self.headers[name.lowercased()]
    }

    /// `x-gpt-id`, trimmed, nil when empty.
    public var gptID: String? {
        guard let value = self.header(Header.gptID)?.trimmingWhitespace(), !value.isEmpty else {
            return nil
        }
        return value
    }
}
