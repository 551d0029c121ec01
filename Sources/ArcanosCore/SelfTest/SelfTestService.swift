import Foundation
import Logging
import ServiceLifecycle

/// Runs the self-test every `SELF_TEST_INTERVAL_MS`, ±10% jitter so replicas do not probe in step (only -10%…0
/// while the latest run failed, so that a recovery is seen within one interval). The first run comes one
/// interval after start. Single-flight comes from the pipeline: a tick that finds a run in
/// flight (one started by `POST /devops/self-test`) joins it. Returns on graceful shutdown, cancelling a run
/// in flight so that a server going down is not recorded as a failed self-test.
public struct SelfTestService<C: Clock>: Service where C.Duration == Duration {
    public let pipeline: SelfTestPipeline
    private let clock: C
    private let logger: Logger
    /// A number in -1...1 per tick; the delay is `interval * (1 + jitter * random())`.
    private let random: @Sendable () -> Double
    /// In a cluster, only the replica leading `self-test` probes: one paid probe per interval, not one each.
    private let gate: SingletonGate

    public static var jitter: Double { 0.1 }

    public init(
        pipeline: SelfTestPipeline,
        clock: C,
        logger: Logger,
        random: @escaping @Sendable () -> Double = { Double.random(in: -1...1) },
        gate: SingletonGate = .alone
    ) {
        self.gate = gate
        self.pipeline = pipeline
        self.clock = clock
        self.logger = logger
        self.random = random
    }

    /// `interval` shifted by `unit * 10%`, `unit` clamped to -1...1, in whole milliseconds.
    public static func delay(interval: Duration, unit: Double) -> Duration {
        let clamped = min(max(unit, -1), 1)
        // Whole milliseconds, so that a test clock advanced by the expected delay reaches it exactly.
        return .milliseconds(Int64((Double(interval.milliseconds) * (1 + Self.jitter * clamped)).rounded()))
    }

    public func run() async throws {
        guard let interval = self.pipeline.configuration.interval else {
            // Off: nothing to do, but a service that returns early would stop the whole group.
            try? await gracefulShutdown()
            return
        }
        self.logger.info("self-test scheduled", metadata: ["self_test.interval_ms": "\(interval.milliseconds)"])
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            // While the latest run failed, jitter only shortens the wait: a recovery shows within one interval.
            let failing = await self.pipeline.latest?.status == .fail
            let unit = self.random()
            let delay = Self.delay(interval: interval, unit: failing ? -abs(unit) : unit)
            do {
                try await cancelWhenGracefulShutdown {
                    try await self.clock.sleep(for: delay)
                }
            } catch {
                break
            }
            guard self.gate.mayAct(.selfTest) else { continue }
            do {
                let pipeline = self.pipeline
                try await withGracefulShutdownHandler {
                    _ = try await pipeline.run(triggeredBy: .interval)
                } onGracefulShutdown: {
                    Task { await pipeline.cancelInFlight() }
                }
            } catch let error as ArcanosError {
                self.logger.notice("self-test skipped", metadata: ["error.code": "\(error.code.rawValue)"])
            } catch {
                break
            }
        }
    }
}
