import Foundation
import Synchronization

/// The `error_rate_rising` signal, as a pure value: finished worker task attempts are counted in buckets of a
/// tenth of `window`; the share that failed in the last `window` is compared with the window before it.
/// Memory stays bounded: at most two windows of buckets are kept.
public struct ErrorRateTracker: Sendable, Hashable {
    public struct Configuration: Sendable, Hashable {
        public var window: Duration
        /// Attempts the last window needs before the share means anything; fewer reads as "not measured".
        public var minimumAttempts: Int
        /// The last window's failed share must be at least this…
        public var minimumFailureShare: Double
        /// …and this much above the window before it (a steady error rate is not rising).
        public var minimumIncrease: Double

        public init(
            window: Duration = .seconds(300),
            minimumAttempts: Int = 10,
            minimumFailureShare: Double = 0.2,
            minimumIncrease: Double = 0.1
        ) {
            self.window = window
            self.minimumAttempts = minimumAttempts
            self.minimumFailureShare = minimumFailureShare
            self.minimumIncrease = minimumIncrease
        }
    }

    private struct Bucket: Sendable, Hashable {
        var attempts = 0
        var failures = 0
    }

    public let configuration: Configuration
    private var buckets: [Int64: Bucket] = [:]

    public init(configuration: Configuration = .init()) {
        self.configuration = configuration
    }

    public mutating func record(failed: Bool, at now: Date) {
        let index = self.bucketIndex(now)
        self.buckets[index, default: Bucket()].attempts += 1
        if failed { self.buckets[index, default: Bucket()].failures += 1 }
        if self.buckets.count > 20 { self.buckets = self.buckets.filter { $0.key > index - 20 } }
    }

    /// Whether the failed share is rising at `now`; nil when the last window saw too few attempts to say.
    public func isRising(at now: Date) -> Bool? {
        let current = self.bucketIndex(now)
        var recent = Bucket()
        var previous = Bucket()
        for (index, bucket) in self.buckets {
            let age = current - index
            if (0..<10).contains(age) {
                recent.attempts += bucket.attempts
                recent.failures += bucket.failures
            } else if (10..<20).contains(age) {
                previous.attempts += bucket.attempts
                previous.failures += bucket.failures
            }
        }
        guard recent.attempts >= self.configuration.minimumAttempts else { return nil }
        let recentShare = Double(recent.failures) / Double(recent.attempts)
        let previousShare = previous.attempts > 0 ? Double(previous.failures) / Double(previous.attempts) : 0
        return recentShare >= self.configuration.minimumFailureShare
            && recentShare - previousShare >= self.configuration.minimumIncrease
    }

    private func bucketIndex(_ date: Date) -> Int64 {
        let bucketMilliseconds = max(self.configuration.window.milliseconds / 10, 1)
        return Int64((date.timeIntervalSince1970 * 1000).rounded(.down)) / bucketMilliseconds
    }
}

/// `ErrorRateTracker` behind a lock, fed by the worker pool's events: a finished attempt that failed
/// (`retrying` or `failed`) counts as a failure, a `succeeded` one as a success; released, fenced and
/// deferred (waiting for the model) attempts are not the task's doing and do not count.
public final class ErrorRateMonitor: Sendable {
    private let tracker: Mutex<ErrorRateTracker>

    public init(configuration: ErrorRateTracker.Configuration = .init()) {
        self.tracker = Mutex(ErrorRateTracker(configuration: configuration))
    }

    public func record(_ event: WorkerPoolEvent, at now: Date) {
        guard case .jobFinished(_, _, let outcome) = event else { return }
        let failed: Bool
        switch outcome {
        case .succeeded: failed = false
        case .retrying, .failed: failed = true
        case .released, .fenced, .deferred: return
        }
        self.tracker.withLock { $0.record(failed: failed, at: now) }
    }

    public func isRising(at now: Date) -> Bool? {
        self.tracker.withLock { $0.isRising(at: now) }
    }
}
