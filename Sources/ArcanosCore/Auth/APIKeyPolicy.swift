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

    /// Whether a request addressed to `host` (its `Host` header, port and all) may be served. Without keys a
    /// loopback server would otherwise do what any web page tells a browser on the same machine to do: a
    /// rebound DNS name (`evil.example` → 127.0.0.1) reaches it with that name as its `Host`, so only loopback
    /// names and addresses are served. With keys, or with `ARCANOS_ALLOW_UNAUTHENTICATED` (the operator chose
    /// to serve other hosts without keys), every host is. A request without `Host` (HTTP/1.0) is served: a
    /// browser always sends one.
    public func acceptsHost(_ host: String?) -> Bool {
        guard !self.isEnforced, !self.allowUnauthenticated, let host else { return true }
        return Self.isLoopbackAuthority(host)
    }

    /// Whether a request a browser sent from the page at `origin` (its `Origin` header) may be served. Without
    /// keys, a page elsewhere could otherwise make the browser send a request that needs no preflight — an
    /// empty-bodied `POST /workers/heal`, say, which an `ALLOW_ALL_GPTS` gate lets through — so only pages
    /// served from a loopback host are. No `Origin` (curl, an SDK, a same-origin GET) is served; so is any
    /// origin when keys are set, or with `ARCANOS_ALLOW_UNAUTHENTICATED`.
    public func acceptsOrigin(_ origin: String?) -> Bool {
        guard !self.isEnforced, !self.allowUnauthenticated, let origin else { return true }
        let lowered = origin.lowercased()
        for scheme in ["http://", "https://"] where lowered.hasPrefix(scheme) {
            return Self.isLoopbackAuthority(String(lowered.dropFirst(scheme.count)))
        }
        return false
    }

    /// `localhost`, a name under `.localhost`, an IPv4 address in 127.0.0.0/8 or `[::1]`, with or without a
    /// port. Stricter than `isLoopback`: `127.example.com` is a name anyone can point anywhere.
    public static func isLoopbackAuthority(_ authority: String) -> Bool {
        var host = Substring(authority.lowercased())
        if host.hasPrefix("[") {
            guard let end = host.firstIndex(of: "]") else { return false }
            let rest = host[host.index(after: end)...]
            guard rest.isEmpty || Self.isPort(rest) else { return false }
            return host[...end] == "[::1]"
        }
        if let colon = host.lastIndex(of: ":") {
            guard Self.isPort(host[colon...]) else { return false }
            host = host[..<colon]
        }
        if host.hasSuffix(".") { host = host.dropLast() }
        if host == "localhost" || host.hasSuffix(".localhost") { return true }
        let octets = host.split(separator: ".", omittingEmptySubsequences: false)
        return octets.count == 4 && octets[0] == "127"
            && octets.allSatisfy { !$0.isEmpty && $0.count <= 3 && $0.allSatisfy(\.isASCIIDigit) && Int($0)! <= 255 }
    }

    /// `:` followed by one to five digits.
    private static func isPort(_ text: Substring) -> Bool {
        text.first == ":" && (2...6).contains(text.count) && text.dropFirst().allSatisfy(\.isASCIIDigit)
    }

    public static func isLoopback(_ host: String) -> Bool {
        let host = host.lowercased()
        return host == "localhost" || host == "::1" || host == "[::1]" || host.hasPrefix("127.")
    }
}

extension Character {
    fileprivate var isASCIIDigit: Bool { self >= "0" && self <= "9" }
}
