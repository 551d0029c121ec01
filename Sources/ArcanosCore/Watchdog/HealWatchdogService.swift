import Logging
import ServiceLifecycle

/// Runs the heal watchdog's checks every `ARCANOS_AUTO_HEAL_INTERVAL_MS` until graceful shutdown. With
/// `ARCANOS_AUTO_HEAL=off` it only waits for shutdown (a service that returns would stop the group).
public struct HealWatchdogService<C: Clock>: Service where C.Duration == Duration {
    public let watchdog: HealWatchdog
    private let clock: C
    private let logger: Logger
    /// In a cluster, only the replica leading `watchdog` checks: one heal per incident, not one per replica.
    private let gate: SingletonGate

    public init(watchdog: HealWatchdog, clock: C, logger: Logger, gate: SingletonGate = .alone) {
        self.gate = gate
        self.watchdog = watchdog
        self.clock = clock
        self.logger = logger
    }

    public func run() async throws {
        let configuration = self.watchdog.configuration
        guard configuration.mode != .off else {
            try? await gracefulShutdown()
            return
        }
        self.logger.info(
            "heal watchdog started",
            metadata: [
                "watchdog.mode": "\(configuration.mode.rawValue)",
                "watchdog.interval_ms": "\(configuration.interval.milliseconds)",
            ]
        )
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            do {
                try await cancelWhenGracefulShutdown {
                    try await self.clock.sleep(for: configuration.interval)
                }
            } catch {
                break
            }
            // A check in progress finishes (a heal is not cut in half); the loop ends after it.
            guard self.gate.mayAct(.watchdog) else { continue }
            await self.watchdog.check()
        }
    }
}
