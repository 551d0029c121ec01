import Foundation

/// How the self-test reaches `/ask`: one HTTP POST, bounded in time and size, never following a redirect.
/// Implemented over AsyncHTTPClient in ArcanosLLM (`HTTPClientSelfTestTransport`); scripted in tests.
public protocol SelfTestTransport: Sendable {
    /// Sends `request`. Answers with any status code the server sent (a 3xx included: redirects are never
    /// followed); throws `SelfTestTransportError` when no complete answer arrived within the limits.
    func post(_ request: SelfTestHTTPRequest) async throws -> SelfTestHTTPResponse
}

public struct SelfTestHTTPRequest: Sendable, Hashable {
    public var url: String
    /// Header fields to send besides `content-type: application/json`.
    public var headers: [String: String]
    public var body: Data
    /// Deadline of the whole exchange, connection to last body byte.
    public var timeout: Duration
    /// A response body longer than this is an error, not a truncated answer.
    public var maximumResponseBytes: Int

    public init(url: String, headers: [String: String], body: Data, timeout: Duration, maximumResponseBytes: Int) {
        self.url = url
        self.headers = headers
        self.body = body
        self.timeout = timeout
        self.maximumResponseBytes = maximumResponseBytes
    }
}

public struct SelfTestHTTPResponse: Sendable, Hashable {
    public var statusCode: Int
    /// Header fields, names lowercased.
    public var headers: [String: String]
    public var body: Data

    public init(statusCode: Int, headers: [String: String] = [:], body: Data) {
        self.statusCode = statusCode
        self.headers = Dictionary(
            headers.map { ($0.key.lowercased(), $0.value) },
            uniquingKeysWith: { _, last in last }
        )
        self.body = body
    }
}

/// Why a probe got no answer. `description` is safe to store in the health log.
public enum SelfTestTransportError: Error, Sendable, Hashable, CustomStringConvertible {
    case timeout(Duration)
    case responseTooLarge(limit: Int)
    case connection
    case invalidURL

    public var description: String {
        switch self {
        case .timeout(let duration): "no answer within \(duration.milliseconds) ms"
        case .responseTooLarge(let limit): "response larger than \(limit / 1024) KiB"
        case .connection: "connection failed"
        case .invalidURL: "the target URL is invalid"
        }
    }
}
