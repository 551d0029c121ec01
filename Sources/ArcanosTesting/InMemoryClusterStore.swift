import ArcanosCore
import Foundation
import Synchronization

/// A `ClusterStore` in memory: the replicas of one test process, sharing one instance.
public final class InMemoryClusterStore: ClusterStore {
    private struct Lease {
        var holder: String
        var until: Date
    }

    private struct State {
        var replicas: [String: ReplicaRecord] = [:]
        var leases: [SingletonRole: Lease] = [:]
        var restarts: [ClusterRestart] = []
        var finished: Set<String> = []
        var outcomes: [String: [String: ReplicaRestartOutcome]] = [:]
    }

    private let state = Mutex(State())

    public init() {}

    public func heartbeat(_ replica: ReplicaRecord, now: Date) async throws {
        var replica = replica
        replica.lastSeenAt = now
        self.state.withLock { $0.replicas[replica.id] = replica }
    }

    public func replicas() async throws -> [ReplicaRecord] {
        self.state.withLock { $0.replicas.values.sorted { ($0.startedAt, $0.id) < ($1.startedAt, $1.id) } }
    }

    public func acquireLease(_ role: SingletonRole, holder: String, until: Date, now: Date) async throws -> Bool {
        self.state.withLock { state in
            if let lease = state.leases[role], lease.holder != holder, now < lease.until { return false }
            state.leases[role] = Lease(holder: holder, until: until)
            return true
        }
    }

    public func releaseLease(_ role: SingletonRole, holder: String) async throws {
        self.state.withLock { state in
            if state.leases[role]?.holder == holder { state.leases[role] = nil }
        }
    }

    public func beginRestart(_ candidate: ClusterRestart, now: Date) async throws -> ClusterRestart {
        self.state.withLock { state in
            if let current = Self.current(state, now: now) { return current }
            state.restarts.append(candidate)
            return candidate
        }
    }

    public func currentRestart(now: Date) async throws -> ClusterRestart? {
        self.state.withLock { Self.current($0, now: now) }
    }

    public func recordRestartOutcome(_ outcome: ReplicaRestartOutcome, restartID: String) async throws {
        self.state.withLock { $0.outcomes[restartID, default: [:]][outcome.replicaID] = outcome }
    }

    public func restartOutcomes(_ restartID: String) async throws -> [ReplicaRestartOutcome] {
        self.state.withLock { ($0.outcomes[restartID] ?? [:]).values.sorted { $0.replicaID < $1.replicaID } }
    }

    public func finishRestart(_ restartID: String) async throws {
        _ = self.state.withLock { $0.finished.insert(restartID) }
    }

    private static func current(_ state: State, now: Date) -> ClusterRestart? {
        state.restarts.last { !state.finished.contains($0.id) && now < $0.expiresAt }
    }

    public func leave(_ replicaID: String) async throws {
        self.state.withLock { $0.replicas[replicaID] = nil }
    }

    public func forgetReplicas(lastSeenBefore cutoff: Date) async throws {
        self.state.withLock { $0.replicas = $0.replicas.filter { $0.value.lastSeenAt >= cutoff } }
    }
}
