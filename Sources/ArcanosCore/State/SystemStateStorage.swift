import Foundation

/// Where the `systemState.json` document lives: an atomically written file in production
/// (`SystemStateFile` in ArcanosStore), memory in tests.
public protocol SystemStateStorage: Sendable {
    /// The stored bytes, or nil when nothing is stored yet.
    func read() throws -> Data?
    /// Replaces the whole document at once: readers see the old or the new bytes, never a mix.
    func write(_ data: Data) throws
    /// Moves an unreadable document aside and returns a name for it (for the log).
    func quarantine(now: Date) throws -> String
}
