/// Who may call authenticated routes: the operator keys of `ARCANOS_API_KEYS`, and when they are optional.
public struct APIKeyPolicy: Sendable {
    public let keys: [String]
    public let allowUnauthenticated: Bool

    public init(keys: [String], allowUnauthenticated: Bool = false) {
        self.keys = keys.filter { !$0.isEmpty }
        self.allowUnauthenticated = allowUnauthenticated
    }

    /// True when requests need `Authorization: Bearer <key>`.
    public var isEnforced: Bool { !self.keys.isEmpty }

    /// Checks a presented key against every configured key in constant time, so neither which key
    /// matched nor how much of one matched shows in the timing.
    public func accepts(_ presented: some StringProtocol) -> Bool {
        self.matchingKey(presented) != nil
    }

    /// The 1-based position of the configured key `presented` equals, compared like `accepts`: a
    /// secret-free name for the key a caller used.
    public func matchingKey(_ presented: some StringProtocol) -> Int? {
        var matched: Int?
        for (index, key) in self.keys.enumerated() where ConstantTime.equals(presented, key) {
            matched = matched ?? index + 1
        }
        return matched
    }

    /// Refuses to serve a non-loopback address without keys, unless explicitly allowed.
    public func validate(listeningOn host: String) throws {
        guard !self.isEnforced, !self.allowUnauthenticated, !Self.isLoopback(host) else { return }
        throw ArcanosError(
            .configurationInvalid,
            "Refusing to listen on \(host) without ARCANOS_API_KEYS: anyone who can reach it could heal or run "
                + "workers. Set ARCANOS_API_KEYS, listen on 127.0.0.1, or set ARCANOS_ALLOW_UNAUTHENTICATED=true."
        )
    }

    public static func isLoopback(_ host: String) -> Bool {
        let host = host.lowercased()
        return host == "localhost" || host == "::1" || host == "[::1]" || host.hasPrefix("127.")
    }
}
