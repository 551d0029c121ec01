import Foundation

/// The outcome of one readiness prompt: an entry of `logs/healthcheck.json`.
public struct SelfTestResult: Sendable, Hashable, Codable {
    /// The prompt's id.
    public var id: String
    public var prompt: String
    public var expectation: String
    /// The HTTP status `/ask` answered; nil when no answer arrived (timeout, connection, oversized body).
    public var statusCode: Int?
    public var latencyMs: Int64
    public var success: Bool
    /// Why it failed, or `ok`; safe text (never the answer or an upstream error).
    public var message: String
    /// The model that answered; nil when no live answer came back.
    public var activeModel: String?
    /// When the answer (or the failure) came.
    public var timestamp: Date

    public init(
        id: String,
        prompt: String,
        expectation: String,
        statusCode: Int?,
        latencyMs: Int64,
        success: Bool,
        message: String,
        activeModel: String?,
        timestamp: Date
    ) {
        self.id = id
        self.prompt = prompt
        self.expectation = expectation
        self.statusCode = statusCode
        self.latencyMs = latencyMs
        self.success = success
        self.message = message
        self.activeModel = activeModel
        self.timestamp = timestamp
    }

    // Absent values are written as null so every entry has the same shape.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(self.id, forKey: .id)
        try container.encode(self.prompt, forKey: .prompt)
        try container.encode(self.expectation, forKey: .expectation)
        try container.encode(self.statusCode, forKey: .statusCode)
        try container.encode(self.latencyMs, forKey: .latencyMs)
        try container.encode(self.success, forKey: .success)
        try container.encode(self.message, forKey: .message)
        try container.encode(self.activeModel, forKey: .activeModel)
        try container.encode(self.timestamp, forKey: .timestamp)
    }
}

/// One self-test run: what `POST /devops/self-test` and `arcanos selftest` return, and what is mirrored into
/// `systemState.json` as `selfTest`.
public struct SelfTestSummary: Sendable, Hashable, Codable {
    public enum Trigger: String, Sendable, Hashable, Codable, CaseIterable {
        /// The periodic loop (`SELF_TEST_INTERVAL_MS`).
        case interval
        /// `POST /devops/self-test`.
        case api
        /// `arcanos selftest`.
        case cli
    }

    public enum Status: String, Sendable, Hashable, Codable, CaseIterable {
        case pass, fail
    }

    public var triggeredBy: Trigger
    /// Where the prompts were sent (`<baseUrl>/ask`).
    public var baseUrl: String
    /// The primary model the server is configured with.
    public var targetModel: String
    /// When the run started.
    public var lastRun: Date
    public var completedAt: Date
    public var passCount: Int
    public var failCount: Int
    public var results: [SelfTestResult]
    /// `pass` when every prompt passed.
    public var status: Status

    public init(
        triggeredBy: Trigger,
        baseUrl: String,
        targetModel: String,
        lastRun: Date,
        completedAt: Date,
        results: [SelfTestResult]
    ) {
        self.triggeredBy = triggeredBy
        self.baseUrl = baseUrl
        self.targetModel = targetModel
        self.lastRun = lastRun
        self.completedAt = completedAt
        self.results = results
        self.passCount = results.filter(\.success).count
        self.failCount = results.count - self.passCount
        self.status = self.failCount == 0 && !results.isEmpty ? .pass : .fail
    }

    /// The summary as a JSON value, timestamps as `2026-11-29T18:51:24.123Z`, for the state document.
    public func jsonValue() throws -> JSONValue {
        try JSONDecoder().decode(JSONValue.self, from: try Self.encoder.encode(self))
    }

    /// Sorted, pretty-printed, `iso8601Milliseconds` dates: the self-test files and `arcanos selftest`.
    public static let encoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes]
        encoder.dateEncodingStrategy = .iso8601Milliseconds
        return encoder
    }()
}
