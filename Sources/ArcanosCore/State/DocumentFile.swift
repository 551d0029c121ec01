import Foundation
import Logging

/// One JSON document kept whole in a `SystemStateStorage`: what both state files, `systemState.json`
/// (`SystemStateManager`) and `logs/healthcheck.json` (`HealthCheckLog`), are read and written through.
/// Written pretty printed with sorted keys and a final newline; a stored document that does not decode as
/// `Document` is moved aside (`<name>.corrupt-<ms>`, by the storage) and read as absent, so the caller starts
/// from its defaults: heal, don't crash.
public struct DocumentFile<Document: Codable & Sendable>: Sendable {
    private let storage: any SystemStateStorage
    private let logger: Logger
    /// Logged at warning level when a corrupt document is moved aside.
    private let corruptionMessage: String

    public init(storage: any SystemStateStorage, logger: Logger, corruptionMessage: String) {
        self.storage = storage
        self.logger = logger
        self.corruptionMessage = corruptionMessage
    }

    /// The stored document; nil when there is none, or when it was corrupt and has just been moved aside.
    public func read(now: Date) throws -> Document? {
        guard let data = try self.storage.read() else { return nil }
        if let document = try? JSONDecoder().decode(Document.self, from: data) { return document }
        let movedTo = try self.storage.quarantine(now: now)
        self.logger.warning(
            "\(self.corruptionMessage)",
            metadata: ["error.code": "\(ArcanosError.Code.stateCorrupted.rawValue)", "state.quarantined": "\(movedTo)"]
        )
        return nil
    }

    /// Replaces the stored document as a whole.
    public func write(_ document: Document) throws {
        try self.storage.write(try Self.encode(document))
    }

    static func encode(_ document: Document) throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes]
        var data = try encoder.encode(document)
        data.append(0x0A)
        return data
    }
}
