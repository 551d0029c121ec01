import Foundation
import Logging

/// The shared record (`lastHeal`, the last self-test summary): kept in the `SharedStateStore`, so every replica
/// reads what any of them wrote last, and mirrored into this replica's `systemState.json`, as the seed has it.
/// The one place that keeps the two in step.
public struct SharedRecord: Sendable {
    public let store: any SharedStateStore
    /// This replica's `systemState.json`; nil when there is none (component tests).
    public let state: SystemStateManager?
    private let logger: Logger

    public init(store: any SharedStateStore, state: SystemStateManager?, logger: Logger) {
        self.store = store
        self.state = state
        self.logger = logger
    }

    /// Writes `value` to the store, then to the local mirror. Throws when the store could not take it (the
    /// mirror is then left as it was, so it never shows what the other replicas cannot see).
    public func set(_ value: JSONValue, for key: SharedRecordKey, now: Date) async throws {
        try await self.store.setRecord(value, for: key, now: now)
        try await self.state?.set(value, at: key.statePath)
    }

    /// The shared value of `key`, mirrored into the local file when another replica changed it. While the store
    /// cannot be reached, and for a record the store never had (a file from before the store), the local mirror.
    public func value(for key: SharedRecordKey) async -> JSONValue? {
        let mirrored = await self.mirrored(key)
        let shared: JSONValue?
        do {
            shared = try await self.store.record(key)
        } catch {
            self.logger.debug("shared record unreadable: showing the local mirror", metadata: ["error": "\(error)"])
            return mirrored
        }
        guard let shared else { return mirrored }
        if shared != mirrored, let state = self.state {
            do {
                try await state.set(shared, at: key.statePath)
            } catch {
                self.logger.error("shared record not mirrored into the state file", metadata: ["error": "\(error)"])
            }
        }
        return shared
    }

    private func mirrored(_ key: SharedRecordKey) async -> JSONValue? {
        guard let state = self.state else { return nil }
        var current: JSONValue? = .object(await state.snapshot())
        for member in key.statePath { current = current?[member] }
        return current
    }
}
