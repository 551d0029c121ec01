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
public struct DegradedAnswer: Sendable, Hashable {
    public struct Payload: Sendable, Hashable {
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

    /// `{status, message, data, fallbackMode, reason, timestamp}`; `data: null` is part of the contract for
    /// the minimal mode, and `data` leaves out `activeModel` and `cachedAt` when they are unknown.
    public var json: [UInt8] {
        var writer = JSONWriter()
        writer.object { body in
            body.key("status")
            body.string(self.status)
            body.key("message")
            body.string(self.message)
            body.key("data")
            if let data = self.data {
                body.object { payload in
                    payload.key("result")
                    payload.string(data.result)
                    if let activeModel = data.activeModel {
                        payload.key("activeModel")
                        payload.string(activeModel)
                    }
                    if let cachedAt = data.cachedAt {
                        payload.key("cachedAt")
                        payload.date(cachedAt)
                    }
                    payload.key("mock")
                    payload.bool(data.mock)
                }
            } else {
                body.null()
            }
            body.key("fallbackMode")
            body.string(self.fallbackMode.rawValue)
            body.key("reason")
            body.string(self.reason)
            body.key("timestamp")
            body.date(self.timestamp)
        }
        return writer.bytes
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
