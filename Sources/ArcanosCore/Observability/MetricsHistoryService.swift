import Foundation
import ServiceLifecycle

/// Closes the history's interval every `interval` (`ARCANOS_HISTORY_INTERVAL_MS`), with the gauges read
/// at that moment, so `GET /metrics/history` has one point per interval whether anyone looks or not.
public struct MetricsHistoryService<C: Clock>: Service where C.Duration == Duration {
    /// Reads the breakers and the queue for the point being closed.
    public typealias ReadGauges = @Sendable (_ now: Date) async -> MetricsHistory.Gauges

    private let recorder: MetricsHistoryRecorder
    private let gauges: ReadGauges
    private let clock: C
    private let now: @Sendable () -> Date

    public init(
        recorder: MetricsHistoryRecorder,
        gauges: @escaping ReadGauges,
        clock: C,
        now: @escaping @Sendable () -> Date = { Date() }
    ) {
        self.recorder = recorder
        self.gauges = gauges
        self.clock = clock
        self.now = now
    }

    public func run() async throws {
        let interval = self.recorder.configuration.interval
        var deadline = self.clock.now.advanced(by: interval)
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            let wakeUp = deadline
            do {
                try await cancelWhenGracefulShutdown { try await self.clock.sleep(until: wakeUp, tolerance: nil) }
            } catch {
                return
            }
            await self.closeInterval()
            deadline = deadline.advanced(by: interval)
            // Late (a store that took its deadline to answer): the next point is one interval from now, and
            // the late one reports its longer length, so no rate is inflated.
            if deadline < self.clock.now { deadline = self.clock.now.advanced(by: interval) }
        }
    }

    /// Reads the gauges, then closes the interval.
    public func closeInterval() async {
        let gauges = await self.gauges(self.now())
        self.recorder.close(now: self.now(), gauges: gauges)
    }
}
