/// This replica's place in a cluster, for the services that look at the others (status) or act with them
/// (heal): the cluster store, this replica's id, and when a silent replica is dead.
public struct ClusterMembership: Sendable {
    public var store: any ClusterStore
    public var replicaID: String
    public var replicaTimeout: Duration

    public init(store: any ClusterStore, replicaID: String, replicaTimeout: Duration) {
        self.store = store
        self.replicaID = replicaID
        self.replicaTimeout = replicaTimeout
    }
}
