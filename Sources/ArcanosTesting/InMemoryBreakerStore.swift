import ArcanosCore
import Foundation
import Synchronization

/// The shared breakers in memory, as PostgreSQL keeps them: a row per model with its probe lease, and every
/// listener told of each publication.
public final class InMemoryBreakerStore: SharedBreakerStore {
    private struct Row {
        var state: SharedBreakerState
        var probeHolder: String?
        var probeUntil: Date?
    }

    private struct State {
        var rows: [String: Row] = [:]
        var listeners: [UUID: AsyncStream<SharedBreakerState>.Continuation] = [:]
        var refusesListeners = false
    }

    /// A lost connection, for tests: every listener's session ends, and while `refusing` new ones fail.
    public func disconnectListeners(refusing: Bool) {
        let listeners = self.state.withLock { state in
            state.refusesListeners = refusing
            return Array(state.listeners.values)
        }
        for listener in listeners { listener.finish() }
    }

    /// The connection is back: listeners may connect again.
    public func acceptListeners() {
        self.state.withLock { $0.refusesListeners = false }
    }

    public struct ListenerRefused: Error {}

    private let state = Mutex(State())

    public init() {}

    public func publish(_ published: SharedBreakerState) async throws {
        let listeners = self.state.withLock { state in
            state.rows[published.model] = Row(state: published)
            return Array(state.listeners.values)
        }
        for listener in listeners { listener.yield(published) }
    }

    public func breakerStates() async throws -> [SharedBreakerState] {
        self.state.withLock { $0.rows.values.map(\.state).sorted { $0.model < $1.model } }
    }

    public func acquireProbe(model: String, holder: String, until: Date, now: Date) async throws -> Bool {
        self.state.withLock { state in
            var row =
                state.rows[model]
                ?? Row(state: SharedBreakerState(model: model, openUntil: nil, failedProbes: 0, replicaID: holder))
            if let other = row.probeHolder, other != holder, let end = row.probeUntil, now < end { return false }
            row.probeHolder = holder
            row.probeUntil = until
            state.rows[model] = row
            return true
        }
    }

    public func listenForBreakers(
        ready: () async -> Void,
        changed: (SharedBreakerState) async -> Void
    ) async throws {
        let id = UUID()
        let (changes, continuation) = AsyncStream.makeStream(of: SharedBreakerState.self)
        try self.state.withLock { state in
            if state.refusesListeners { throw ListenerRefused() }
            state.listeners[id] = continuation
        }
        defer { _ = self.state.withLock { $0.listeners.removeValue(forKey: id) } }
        await ready()
        for await change in changes { await changed(change) }
    }
}
