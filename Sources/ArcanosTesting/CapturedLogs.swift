import Logging
import Synchronization

/// Keeps every log entry of a logger, to check what is (and is not) logged.
public final class CapturedLogs: Sendable {
    public struct Entry: Sendable {
        public var level: Logger.Level
        public var message: String
        public var metadata: [String: String]
    }

    private let storage = Mutex<[Entry]>([])

    public init() {}

    public var entries: [Entry] { self.storage.withLock { $0 } }

    public var logger: Logger {
        Logger(label: "test") { _ in Handler(logs: self) }
    }

    fileprivate func append(_ entry: Entry) {
        self.storage.withLock { $0.append(entry) }
    }

    private struct Handler: LogHandler {
        let logs: CapturedLogs
        var metadata: Logger.Metadata = [:]
        var logLevel: Logger.Level = .trace

        subscript(metadataKey key: String) -> Logger.Metadata.Value? {
            get { self.metadata[key] }
            set { self.metadata[key] = newValue }
        }

        func log(event: LogEvent) {
            let merged = self.metadata.merging(event.metadata ?? [:]) { $1 }
            self.logs.append(
                Entry(level: event.level, message: "\(event.message)", metadata: merged.mapValues { "\($0)" })
            )
        }
    }
}
