import Foundation
import Logging

/// `logs/healthcheck.json` in `ARCANOS_DATA_DIR`: `{updatedAt, history[]}`, the latest self-test results,
/// oldest first, at most `limit` of them. Written whole and atomically through a `SystemStateStorage` (the same
/// temporary-file-fsync-rename as `systemState.json`); a document that is not such an object is moved aside
/// and rebuilt from the new results.
public struct HealthCheckLog: Sendable {
    public static let relativePath = "logs/healthcheck.json"
    public static let defaultLimit = 20

    private let storage: any SystemStateStorage
    private let limit: Int
    private let logger: Logger

    public init(storage: any SystemStateStorage, limit: Int = Self.defaultLimit, logger: Logger) {
        precondition(limit >= 1)
        self.storage = storage
        self.limit = limit
        self.logger = logger
    }

    /// Appends `results`, keeps the newest `limit` entries and writes the document. Returns the history written.
    /// Entries already in the file are kept as they are, whatever their shape: only the envelope must be valid.
    @discardableResult
    public func append(_ results: [SelfTestResult], now: Date) throws -> [JSONValue] {
        var document = try self.read(now: now)
        var history: [JSONValue] = []
        if case .array(let existing)? = document["history"] { history = existing }
        for result in results {
            history.append(try Self.jsonValue(result))
        }
        history = Array(history.suffix(self.limit))
        document["history"] = .array(history)
        document["updatedAt"] = .string(now.iso8601Milliseconds)
        try self.storage.write(try Self.encode(document))
        return history
    }

    private func read(now: Date) throws -> [String: JSONValue] {
        guard let data = try self.storage.read() else { return [:] }
        if let value = try? JSONDecoder().decode(JSONValue.self, from: data), case .object(let object) = value {
            switch object["history"] {
            case nil, .array?: return object
            default: break
            }
        }
        let movedTo = try self.storage.quarantine(now: now)
        self.logger.warning(
            "health check log corrupted: moved aside and rebuilt",
            metadata: ["error.code": "\(ArcanosError.Code.stateCorrupted.rawValue)", "state.quarantined": "\(movedTo)"]
        )
        return [:]
    }

    static func jsonValue(_ result: SelfTestResult) throws -> JSONValue {
        try JSONDecoder().decode(JSONValue.self, from: try SelfTestSummary.encoder.encode(result))
    }

    static func encode(_ document: [String: JSONValue]) throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes]
        var data = try encoder.encode(JSONValue.object(document))
        data.append(0x0A)
        return data
    }
}
