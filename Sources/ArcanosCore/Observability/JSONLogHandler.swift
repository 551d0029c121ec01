import Foundation
import Logging
import Synchronization

/// swift-log handler writing one JSON object per line (`ARCANOS_LOG_FORMAT=json`), for log shippers.
public struct JSONLogHandler: LogHandler {
    public var logLevel: Logger.Level = .info
    public var metadata: Logger.Metadata = [:]
    public var metadataProvider: Logger.MetadataProvider?
    private let label: String
    private let sink: @Sendable (String) -> Void

    public init(label: String, sink: @escaping @Sendable (String) -> Void = JSONLogHandler.standardError) {
        self.label = label
        self.sink = sink
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { self.metadata[key] }
        set { self.metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        var fields: [String: JSONValue] = [
            "timestamp": .string(Date().iso8601Milliseconds),
            "level": .string(event.level.rawValue),
            "label": .string(self.label),
            "message": .string(event.message.description),
        ]
        var merged = self.metadata
        if let provided = self.metadataProvider?.get() { merged.merge(provided) { _, new in new } }
        if let extra = event.metadata { merged.merge(extra) { _, new in new } }
        for (key, value) in merged where fields[key] == nil {
            fields[key] = Self.json(value)
        }
        guard let data = try? Self.encoder.encode(JSONValue.object(fields)) else { return }
        self.sink(String(decoding: data, as: UTF8.self))
    }

    private static let encoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return encoder
    }()

    private static func json(_ value: Logger.Metadata.Value) -> JSONValue {
        switch value {
        case .string(let string): .string(string)
        case .stringConvertible(let convertible): .string(convertible.description)
        case .array(let array): .array(array.map(Self.json))
        case .dictionary(let dictionary): .object(dictionary.mapValues(Self.json))
        }
    }

    private static let output = Mutex(())

    public static let standardError: @Sendable (String) -> Void = { line in
        Self.output.withLock { _ in FileHandle.standardError.write(Data((line + "\n").utf8)) }
    }
}
