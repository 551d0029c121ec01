/// What the heal watchdog does when severity stays critical (`ARCANOS_AUTO_HEAL`).
public enum WatchdogMode: String, Sendable, Hashable, Codable, CaseIterable {
    /// Not running.
    case off
    /// Builds and logs a recovery plan; never restarts anything.
    case plan
    /// Heals through the same path as `POST /workers/heal`, as the caller `watchdog`.
    case execute
}
