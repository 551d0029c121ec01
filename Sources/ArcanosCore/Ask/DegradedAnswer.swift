import Foundation

/// How a degraded answer was produced.
public enum FallbackMode: String, Sendable, Hashable, Codable, CaseIterable {
    /// The last good answer to the same prompt.
    case cache
    /// A canned text, labelled as such.
    case mock
    /// No content at all.
    case minimal
}

/// The body of every degraded answer (HTTP 503): clearly not a live model answer.
public struct DegradedAnswer: Sendable, Hashable, Encodable {
    public struct Payload: Sendable, Hashable, Encodable {
        public var result: String
        /// The model that produced a cached answer; absent for canned text.
        public var activeModel: String?
        public var cachedAt: Date?
        /// True when `result` is canned text, not model output.
        public var mock: Bool
    }

    public var status = "degraded"
    public var message: String
    public var data: Payload?
    public var fallbackMode: FallbackMode
    /// Why the model was not used: an `LLMFailure.Kind` raw value.
    public var reason: String
    public var timestamp: Date
    /// When the client should try again (the `Retry-After` header, not part of the body).
    public var retryAfter: Duration

    private enum CodingKeys: String, CodingKey {
        case status, message, data, fallbackMode, reason, timestamp
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(self.status, forKey: .status)
        try container.encode(self.message, forKey: .message)
        // `data: null` is part of the contract for the minimal mode, so encode it explicitly.
        try container.encode(self.data, forKey: .data)
        try container.encode(self.fallbackMode, forKey: .fallbackMode)
        try container.encode(self.reason, forKey: .reason)
        try container.encode(self.timestamp, forKey: .timestamp)
    }
}

/// Counts of degraded answers, for the auto-heal signal and metrics.
public struct FallbackStats: Sendable, Hashable, Codable {
    public var total = 0
    public var byMode: [String: Int] = [:]
    public var byReason: [String: Int] = [:]
    public var lastAt: Date?
    public var lastReason: String?
    /// First degraded answer of the current run of them; cleared by the next live answer.
    public var degradedSince: Date?

    public init() {}
}
