import Foundation
import Logging

/// `logs/healthcheck.json` in `ARCANOS_DATA_DIR`: `{updatedAt, history[]}`, the latest self-test results,
/// oldest first, at most `limit` of them. Read and written through `DocumentFile`, like `systemState.json`
/// (whole and atomically); a document that is not such an object is moved aside and rebuilt from the new
/// results.
public struct HealthCheckLog: Sendable {
    public static let relativePath = "logs/healthcheck.json"
    public static let defaultLimit = 20

    private let file: DocumentFile<HealthCheckDocument>
    private let limit: Int

    public init(storage: any SystemStateStorage, limit: Int = Self.defaultLimit, logger: Logger) {
        precondition(limit >= 1)
        self.file = DocumentFile(
            storage: storage,
            logger: logger,
            corruptionMessage: "health check log corrupted: moved aside and rebuilt"
        )
        self.limit = limit
    }

    /// Appends `results`, keeps the newest `limit` entries and writes the document. Returns the history written.
    /// Entries already in the file are kept as they are, whatever their shape: only the envelope must be valid.
    @discardableResult
    public func append(_ results: [SelfTestResult], now: Date) throws -> [JSONValue] {
        var document = try self.file.read(now: now) ?? HealthCheckDocument()
        for result in results {
            document.history.append(try Self.jsonValue(result))
        }
        document.history = Array(document.history.suffix(self.limit))
        document.members["updatedAt"] = .string(now.iso8601Milliseconds)
        try self.file.write(document)
        return document.history
    }

    static func jsonValue(_ result: SelfTestResult) throws -> JSONValue {
        try JSONDecoder().decode(JSONValue.self, from: try SelfTestSummary.encoder.encode(result))
    }
}

/// `logs/healthcheck.json`: `history`, an array of entries kept whatever their shape, and every other member
/// (`updatedAt`) as it is. Anything but an object whose `history` is absent or an array does not decode.
public struct HealthCheckDocument: Codable, Sendable, Equatable {
    public var history: [JSONValue] = []
    public var members: [String: JSONValue] = [:]

    public init() {}

    public init(from decoder: any Decoder) throws {
        var object = try [String: JSONValue](from: decoder)
        switch object.removeValue(forKey: "history") {
        case nil: break
        case .array(let history)?: self.history = history
        default: throw ArcanosError(.stateCorrupted, "\(HealthCheckLog.relativePath): history is not an array")
        }
        self.members = object
    }

    public func encode(to encoder: any Encoder) throws {
        var object = self.members
        object["history"] = .array(self.history)
        try object.encode(to: encoder)
    }
}
