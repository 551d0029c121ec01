import ArcanosCore
import Foundation

/// `systemState.json` in `ARCANOS_DATA_DIR`, written with `AtomicFile` (temporary file, fsync, rename).
public struct SystemStateFile: SystemStateStorage {
    public let path: String

    public init(directory: String, name: String = SystemStateManager.fileName) {
        self.path = URL(fileURLWithPath: directory).appendingPathComponent(name).path
    }

    public func read() throws -> Data? {
        guard FileManager.default.fileExists(atPath: self.path) else { return nil }
        do {
            return try Data(contentsOf: URL(fileURLWithPath: self.path))
        } catch {
            throw ArcanosError(.stateCorrupted, "State file could not be read", underlying: error)
        }
    }

    /// Writes `data` after the one redactor went over it: a key, a secret or a long prompt that reached the
    /// document never reaches the disk.
    public func write(_ data: Data) throws {
        try AtomicFile.write(try Redactor.standard.redactDocument(data), to: self.path)
    }

    public func quarantine(now: Date) throws -> String {
        try AtomicFile.quarantine(self.path, now: now)
    }
}
