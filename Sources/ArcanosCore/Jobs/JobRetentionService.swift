import Foundation
import Logging
import ServiceLifecycle

/// Deletes finished jobs (succeeded or failed) once they are older than the retention (`JOB_RETENTION_MS`),
/// so the job store does not grow without bound: at start, then every `sweepInterval`. Queued and running
/// jobs are never deleted. `GET /jobs/:id` answers 404 for a job deleted this way.
public struct JobRetentionService<C: Clock>: Service where C.Duration == Duration {
    /// nil keeps finished jobs for ever.
    public let retention: Duration?
    private let store: any JobStore
    private let clock: C
    private let now: @Sendable () -> Date
    private let logger: Logger
    /// In a cluster, only the replica leading `retention` sweeps.
    private let gate: SingletonGate

    public init(
        store: any JobStore,
        retention: Duration?,
        clock: C,
        now: @escaping @Sendable () -> Date = { Date() },
        logger: Logger,
        gate: SingletonGate = .alone
    ) {
        self.gate = gate
        self.store = store
        self.retention = retention
        self.clock = clock
        self.now = now
        self.logger = logger
    }

    /// Hourly, or as often as the retention when that is shorter: a job outlives it by one interval at most.
    public static func sweepInterval(retention: Duration) -> Duration {
        min(retention, .seconds(3600))
    }

    public func run() async throws {
        guard let retention = self.retention else {
            // Off: nothing to do, but a service that returns early would stop the whole group.
            try? await gracefulShutdown()
            return
        }
        let interval = Self.sweepInterval(retention: retention)
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            if self.gate.mayAct(.retention, now: self.now()) { await self.sweep(retention: retention) }
            do {
                try await cancelWhenGracefulShutdown { try await self.clock.sleep(for: interval) }
            } catch {
                break
            }
        }
    }

    /// One sweep; a store that fails is logged and tried again at the next one.
    func sweep(retention: Duration) async {
        let cutoff = self.now().addingDuration(.zero - retention)
        do {
            let deleted = try await self.store.deleteFinished(before: cutoff)
            if deleted > 0 {
                self.logger.info(
                    "finished jobs deleted",
                    metadata: ["jobs.deleted": "\(deleted)", "jobs.retention_ms": "\(retention.milliseconds)"]
                )
            }
        } catch {
            self.logger.warning(
                "job retention sweep failed",
                metadata: ["error.type": "\(String(reflecting: type(of: error)))"]
            )
        }
    }
}
