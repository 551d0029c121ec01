import Foundation

/// What the model client says about itself: the `provider` part of the status payload.
public struct LLMClientReport: Sendable, Hashable, Codable {
    public struct Model: Sendable, Hashable, Codable {
        public var model: String
        public var breaker: CircuitBreakerStateMachine<ContinuousClock.Instant>.Phase
        public var breakerOpenings: Int
        /// In a cluster, while this breaker is open because another replica's opened: that replica's id (the one
        /// to read the failures on). Absent when this replica's own calls opened it.
        public var breakerOpenedBy: String?
        /// Seconds until the breaker lets a probe through; absent when it accepts calls.
        public var retryAfterSeconds: Double?
        public var calls: Int
        public var successes: Int
        public var failures: Int
        /// Calls that ended in local saturation (no admission slot, a pooled-connection wait): not failures.
        public var overloaded: Int
        public var lastFailure: LLMFailure.Kind?
        public var lastFailureAt: Date?
        public var lastSuccessAt: Date?
    }

    public var configured: Bool
    /// The process-wide limit on model calls in flight; absent when the client has none.
    public var admission: AdmissionLimiter.Snapshot?
    public var models: [Model]

    /// True when no model of the chain accepts calls right now.
    public var allCircuitsOpen: Bool {
        !self.models.isEmpty && self.models.allSatisfy { $0.breaker == .open }
    }
}
