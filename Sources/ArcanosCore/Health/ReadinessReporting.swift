/// Something that can say why the server should not take traffic yet.
public protocol ReadinessReporting: Sendable {
    /// Human-readable reasons the component is not ready; empty when it is.
    func notReadyReasons() async -> [String]
}
