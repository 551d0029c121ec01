/// What the supervisor does when a worker crashes or hangs: replace it at once, then with jittered exponential
/// backoff while the same slot keeps failing, and stop replacing anything once restarts come too fast (a
/// restart storm: the pool is then `unsafe`). An unsafe pool is not given up on: after a quiet period one probe
/// restart of the pool is due, on probation; a failure within the restart window after it makes the pool unsafe
/// again and doubles the quiet period (up to its maximum). Pure: every call takes `now`.
public struct WorkerRestartStateMachine<Instant: InstantProtocol>: Sendable where Instant.Duration == Duration {
    public enum Cause: String, Sendable, Hashable {
        case crash, hang
    }

    public enum Decision: Sendable, Hashable {
        /// Replace the worker after this delay (zero: at once).
        case restart(after: Duration)
        /// Do not replace it: the storm guard tripped, the pool is unsafe.
        case stop
    }

    public let configuration: WorkerRestartPolicy
    private var consecutiveFailures: [Int: Int] = [:]
    private var recentRestarts: [Instant] = []
    public private(set) var unsafeSince: Instant?
    /// Probes that failed since the pool was last trusted (a forced restart or a probation passed).
    private var failedProbes = 0
    /// When the pool was restarted on probation (a probe, or a heal without `force`), until it outlives
    /// `restartWindow` without a failure.
    public private(set) var probationSince: Instant?
    /// Replacements made (totals survive a pool restart).
    public private(set) var restarts = 0
    public private(set) var crashes = 0
    public private(set) var hangs = 0
    /// Times the storm guard tripped.
    public private(set) var storms = 0
    public private(set) var lastFailureAt: Instant?

    public init(configuration: WorkerRestartPolicy = .init()) {
        self.configuration = configuration
    }

    /// How long an unsafe pool waits before its probe restart: `quietPeriod`, doubled after each failed probe.
    public var quietPeriod: Duration { self.configuration.quietPeriodBackoff.delay(self.failedProbes, random: 0) }

    public var isUnsafe: Bool { self.unsafeSince != nil }

    /// When the probe restart of an unsafe pool is due; nil while the pool is not unsafe.
    public var nextProbeAt: Instant? { self.unsafeSince.map { $0.advanced(by: self.quietPeriod) } }

    /// Whether the pool is unsafe and its quiet period is over: time for the probe restart
    /// (`poolRestarted(resetStormGuard: false, now:)`).
    public func probeIsDue(now: Instant) -> Bool {
        self.nextProbeAt.map { now >= $0 } ?? false
    }

    /// Whether the pool runs on probation at `now` (a failure now would make it unsafe again at once).
    public func isOnProbation(now: Instant) -> Bool {
        self.probationSince.map { $0.duration(to: now) < self.configuration.restartWindow } ?? false
    }

    /// `jitter` in 0...1 scales a backoff into [50 %, 100 %] of its nominal value.
    public mutating func workerFailed(slot: Int, cause: Cause, now: Instant, jitter: Double) -> Decision {
        switch cause {
        case .crash: self.crashes += 1
        case .hang: self.hangs += 1
        }
        self.lastFailureAt = now
        guard self.unsafeSince == nil else { return .stop }
        if self.probationSince != nil {
            guard !self.isOnProbation(now: now) else {
                // The probe failed: the storm is not over. Unsafe again, and the next probe waits longer.
                self.probationSince = nil
                self.failedProbes += 1
                self.storms += 1
                self.unsafeSince = now
                return .stop
            }
            // The probation passed without a failure: the pool is trusted again, from scratch.
            self.probationSince = nil
            self.failedProbes = 0
        }
        self.prune(now: now)
        guard self.recentRestarts.count < self.configuration.restartThreshold else {
            self.storms += 1
            self.unsafeSince = now
            return .stop
        }
        self.recentRestarts.append(now)
        self.restarts += 1
        let failures = self.consecutiveFailures[slot, default: 0] + 1
        self.consecutiveFailures[slot] = failures
        return .restart(after: self.backoff(consecutiveFailures: failures, jitter: jitter))
    }

    /// A task succeeded on `slot`: its next failure is replaced at once again.
    public mutating func workerSucceeded(slot: Int) {
        self.consecutiveFailures[slot] = nil
    }

    /// The whole pool was restarted. With `resetStormGuard` (the first start, a forced heal) a fresh start:
    /// storm history, probation and quiet period forgotten. Without it an unsafe pool restarts on probation and
    /// keeps its quiet period; a pool that was not unsafe keeps its restart history. Totals are always kept.
    public mutating func poolRestarted(resetStormGuard: Bool = true, now: Instant) {
        guard resetStormGuard || self.isUnsafe else { return }
        self.consecutiveFailures = [:]
        self.recentRestarts = []
        self.unsafeSince = nil
        self.probationSince = resetStormGuard ? nil : now
        if resetStormGuard { self.failedProbes = 0 }
    }

    public func restartsInWindow(now: Instant) -> Int {
        let window = self.configuration.restartWindow
        return self.recentRestarts.count { $0.duration(to: now) < window }
    }

    func backoff(consecutiveFailures failures: Int, jitter: Double) -> Duration {
        guard failures > 1 else { return .zero }
        return self.configuration.backoff.delay(failures - 2, random: 1 - jitter)
    }

    private mutating func prune(now: Instant) {
        let window = self.configuration.restartWindow
        self.recentRestarts.removeAll { $0.duration(to: now) >= window }
    }
}

/// Why a busy worker counts as hung.
public enum WorkerHangReason: String, Sendable, Hashable, Codable {
    /// Its task ran past the task's deadline.
    case deadlineExceeded = "deadline_exceeded"
    /// It stopped reporting heartbeats.
    case missedHeartbeats = "missed_heartbeats"
}

/// Decides whether a worker is hung, from what it last reported. Pure: the supervisor asks it once per
/// heartbeat interval, so a hang is detected at most one interval after it begins to count.
public struct WorkerHangDetector: Sendable, Hashable {
    /// No heartbeat for this long while working means hung.
    public var heartbeatTimeout: Duration

    public init(heartbeatTimeout: Duration) {
        self.heartbeatTimeout = heartbeatTimeout
    }

    /// - Parameters:
    ///   - deadline: when the current task must be done; nil while the worker has no task.
    ///   - lastHeartbeat: the worker's latest sign of life.
    ///   - idle: the worker is waiting for work, which needs no heartbeat.
    public func verdict<Instant: InstantProtocol>(
        deadline: Instant?,
        lastHeartbeat: Instant,
        idle: Bool,
        now: Instant
    ) -> WorkerHangReason? where Instant.Duration == Duration {
        if let deadline, now >= deadline { return .deadlineExceeded }
        if !idle, lastHeartbeat.duration(to: now) >= self.heartbeatTimeout { return .missedHeartbeats }
        return nil
    }
}

/// The supervisor's restart settings.
public struct WorkerRestartPolicy: Sendable, Hashable {
    /// Backoff before the second consecutive replacement of a slot; doubles after that.
    public var initialBackoff: Duration
    public var maximumBackoff: Duration
    /// More restarts than this within `restartWindow` is a storm (`SAFETY_WORKER_RESTART_THRESHOLD`).
    public var restartThreshold: Int
    /// `SAFETY_WORKER_RESTART_WINDOW_MS`; also how long a probe restart stays on probation.
    public var restartWindow: Duration
    /// How long an unsafe pool waits before its probe restart (`SAFETY_WORKER_QUIET_PERIOD_MS`).
    public var quietPeriod: Duration
    /// The quiet period doubles after each failed probe up to this (or `quietPeriod`, when that is longer).
    public var maximumQuietPeriod: Duration

    /// The wait before the second, third, … consecutive replacement of a slot: doubling from `initialBackoff`,
    /// capped at `maximumBackoff`, scaled into [50 %, 100 %] by jitter.
    public var backoff: Backoff {
        Backoff(initial: min(self.initialBackoff, self.maximumBackoff), maximum: self.maximumBackoff, jitter: 0.5)
    }

    /// How long an unsafe pool waits before its probe restart, by failed probes so far: doubling from
    /// `quietPeriod` up to `maximumQuietPeriod` (or `quietPeriod`, when that is longer), no jitter.
    public var quietPeriodBackoff: Backoff {
        Backoff(initial: self.quietPeriod, maximum: self.maximumQuietPeriod, jitter: 0)
    }

    public init(
        initialBackoff: Duration = .milliseconds(100),
        maximumBackoff: Duration = .seconds(10),
        restartThreshold: Int = 10,
        restartWindow: Duration = .seconds(60),
        quietPeriod: Duration = .seconds(60),
        maximumQuietPeriod: Duration = .seconds(1800)
    ) {
        self.initialBackoff = initialBackoff
        self.maximumBackoff = maximumBackoff
        self.restartThreshold = restartThreshold
        self.restartWindow = restartWindow
        self.quietPeriod = quietPeriod
        self.maximumQuietPeriod = maximumQuietPeriod
    }
}
