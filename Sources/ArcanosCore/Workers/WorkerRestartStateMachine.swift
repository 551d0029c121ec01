/// What the supervisor does when a worker crashes or hangs: replace it at once, then with jittered exponential
/// backoff while the same slot keeps failing, and stop replacing anything once restarts come too fast (a
/// restart storm: the pool is then `unsafe` until an operator restarts it). Pure: every call takes `now`.
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

    public var isUnsafe: Bool { self.unsafeSince != nil }

    /// `jitter` in 0...1 scales a backoff into [50 %, 100 %] of its nominal value.
    public mutating func workerFailed(slot: Int, cause: Cause, now: Instant, jitter: Double) -> Decision {
        switch cause {
        case .crash: self.crashes += 1
        case .hang: self.hangs += 1
        }
        self.lastFailureAt = now
        guard self.unsafeSince == nil else { return .stop }
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

    /// The whole pool was restarted on purpose: a fresh start, storm guard included. Totals are kept.
    public mutating func poolRestarted() {
        self.consecutiveFailures = [:]
        self.recentRestarts = []
        self.unsafeSince = nil
    }

    public mutating func restartsInWindow(now: Instant) -> Int {
        self.prune(now: now)
        return self.recentRestarts.count
    }

    func backoff(consecutiveFailures failures: Int, jitter: Double) -> Duration {
        guard failures > 1 else { return .zero }
        let exponent = min(failures - 2, 30)
        let nominal = min(self.configuration.initialBackoff * (1 << exponent), self.configuration.maximumBackoff)
        return nominal * (0.5 + 0.5 * min(max(jitter, 0), 1))
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
    /// `SAFETY_WORKER_RESTART_WINDOW_MS`.
    public var restartWindow: Duration

    public init(
        initialBackoff: Duration = .milliseconds(100),
        maximumBackoff: Duration = .seconds(10),
        restartThreshold: Int = 10,
        restartWindow: Duration = .seconds(60)
    ) {
        self.initialBackoff = initialBackoff
        self.maximumBackoff = maximumBackoff
        self.restartThreshold = restartThreshold
        self.restartWindow = restartWindow
    }
}
