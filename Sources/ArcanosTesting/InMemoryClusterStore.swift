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

    public func leave(_ replicaID: String) async throws {
        self.state.withLock { $0.replicas[replicaID] = nil }
    }

    public func forgetReplicas(lastSeenBefore cutoff: Date) async throws {
        self.state.withLock { $0.replicas = $0.replicas.filter { $0.value.lastSeenAt >= cutoff } }
    }
}
