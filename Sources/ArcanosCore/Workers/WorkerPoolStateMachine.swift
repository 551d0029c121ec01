import Foundation

/// The supervisor's worker slots as a pure state machine: it holds each slot's phase, job and last sign of life
/// and the restart guard, takes what happened (a worker started, claimed a job, ran it, exited; a heartbeat was
/// answered; the monitor looked) with `now`, and answers what to do. The supervisor keeps the tasks, the store
/// and the clock and only performs the answers, so each write of a job's outcome is made in one place.
///
/// Every event names the slot and the worker's `incarnation`: one from a replaced worker (a straggler stuck in
/// code that ignored cancellation) changes nothing.
public struct WorkerPoolStateMachine<Instant: InstantProtocol>: Sendable where Instant.Duration == Duration {
    public enum Phase: Sendable, Hashable {
        case starting, idle, claiming, busy, restarting, dead, stopped
        case hung(WorkerHangReason)

        public var isAlive: Bool {
            switch self {
            case .starting, .idle, .claiming, .busy: true
            case .restarting, .dead, .stopped, .hung: false
            }
        }

        /// The phase as the status route reports it.
        public var reported: WorkerSupervisorStatus.Worker.State {
            switch self {
            case .starting, .idle, .claiming: .idle
            case .busy: .busy
            case .hung: .hung
            case .restarting: .restarting
            case .dead: .dead
            case .stopped: .stopped
            }
        }
    }

    public struct ActiveJob: Sendable, Hashable {
        public var lease: JobLease
        public var startedAt: Instant
        public var deadline: Instant
    }

    public struct Slot: Sendable, Hashable {
        public let workerID: String
        public fileprivate(set) var incarnation = 0
        public fileprivate(set) var phase = Phase.stopped
        public fileprivate(set) var lastHeartbeat: Instant
        /// The job the worker runs; whoever takes it from here settles it (the worker, or the supervisor when it
        /// stopped, crashed or hung), so it is settled once.
        public fileprivate(set) var job: ActiveJob?
        /// Replacements of this slot.
        public fileprivate(set) var restarts = 0
    }

    /// How a worker ended.
    public enum Exit: Sendable, Hashable {
        /// Stopped on purpose (restart, shutdown) or returned on its own.
        case stopped
        case crashed(String)
        case hung(WorkerHangReason)
    }

    /// What to write for a job's lease.
    public enum Settlement: Sendable, Hashable {
        /// The task succeeded; with `claimNext`, the worker's next job is claimed in the same write.
        case complete(result: String, claimNext: Bool)
        /// Charge the attempt: queued again after `retryAfter` while attempts remain; nil fails it for good.
        case fail(message: String, retryAfter: Duration?)
        /// Hand the job back uncharged, claimable at once: its worker stopped (a restart, shutdown, replacement).
        case release
        /// Hand the job back uncharged, claimable after `retryAfter`: its model is unavailable (`message`).
        case waitForModel(message: String, retryAfter: Duration)
    }

    public struct JobAction: Sendable, Hashable {
        public var lease: JobLease
        public var settlement: Settlement

        public init(lease: JobLease, settlement: Settlement) {
            self.lease = lease
            self.settlement = settlement
        }
    }

    /// What a claimed job leads to.
    public enum ClaimAction: Sendable, Hashable {
        /// Run it: it is the slot's job now.
        case run
        /// The worker was stopped or replaced meanwhile: hand the job straight back.
        case giveBack(JobAction)
    }

    public enum Execution: Sendable, Hashable {
        case success(String)
        case failure(String, WorkerTaskFailure.Cause)
    }

    /// What the worker does after a task.
    public enum Next: Sendable, Hashable {
        /// Claim the next job.
        case work
        /// Return: it is being stopped.
        case stop
        /// End as crashed: the task failed through the worker's own fault.
        case crash(String)
    }

    public struct ExecutionAction: Sendable, Hashable {
        /// Nil when the job was taken from the slot meanwhile (hang, stop, lease lost): this attempt writes nothing.
        public var job: JobAction?
        public var next: Next

        public init(job: JobAction?, next: Next) {
            self.job = job
            self.next = next
        }
    }

    public enum HeartbeatAction: Sendable, Hashable {
        case none
        /// Someone else owns the job now: it was dropped from the slot and the running attempt writes nothing.
        case leaseLost(JobLease)
    }

    public struct Hang: Sendable, Hashable {
        public var slot: Int
        public var workerID: String
        public var reason: WorkerHangReason
        /// How long after the hang began to count it was found.
        public var overdue: Duration

        public init(slot: Int, workerID: String, reason: WorkerHangReason, overdue: Duration) {
            self.slot = slot
            self.workerID = workerID
            self.reason = reason
            self.overdue = overdue
        }
    }

    /// What happens to a slot whose worker ended.
    public enum Replacement: Sendable, Hashable {
        /// The supervisor is stopping: the slot stays stopped.
        case none
        /// Start a new worker after this delay (zero: at once).
        case restart(after: Duration)
        /// The storm guard tripped: the slot stays dead and the pool is unsafe.
        case stormGuardTripped
    }

    public struct ExitAction: Sendable, Hashable {
        /// The job the worker left behind, if any.
        public var job: JobAction?
        public var replacement: Replacement

        public init(job: JobAction?, replacement: Replacement) {
            self.job = job
            self.replacement = replacement
        }
    }

    public let configuration: WorkerPoolConfiguration
    public private(set) var slots: [Slot]
    /// Restart backoff, storm guard, probes and their totals.
    public private(set) var restart: WorkerRestartStateMachine<Instant>
    private let detector: WorkerHangDetector

    public init(configuration: WorkerPoolConfiguration, now: Instant) {
        self.configuration = configuration
        self.slots = configuration.workerIds.map { Slot(workerID: $0, lastHeartbeat: now) }
        self.restart = .init(configuration: configuration.restart)
        self.detector = WorkerHangDetector(heartbeatTimeout: configuration.heartbeatTimeout)
    }

    /// The workers that are alive, in slot order.
    public var aliveWorkerIDs: [String] { self.slots.filter { $0.phase.isAlive }.map(\.workerID) }

    // MARK: The pool

    /// A new generation of the pool starts (see `WorkerRestartStateMachine.poolRestarted`).
    public mutating func poolRestarted(resetStormGuard: Bool, now: Instant) {
        self.restart.poolRestarted(resetStormGuard: resetStormGuard, now: now)
    }

    /// Finds the alive workers that are hung and marks them so; the supervisor cancels and replaces them.
    /// - Parameter exiting: slots whose worker is already ending (its exit is decided): not looked at.
    public mutating func monitorTick(now: Instant, exiting: Set<Int>) -> [Hang] {
        var hangs: [Hang] = []
        for index in self.slots.indices where !exiting.contains(index) {
            let slot = self.slots[index]
            guard slot.phase.isAlive else { continue }
            guard
                let reason = self.detector.verdict(
                    deadline: slot.job?.deadline,
                    lastHeartbeat: slot.lastHeartbeat,
                    // Heartbeats come only while a job's lease is held. Without one (waiting, claiming, writing
                    // an outcome) the worker is in a store call the store's own deadline bounds: a store that is
                    // away must not read as hung workers.
                    idle: slot.phase == .idle || slot.job == nil,
                    now: now
                )
            else { continue }
            let overdue =
                switch reason {
                case .deadlineExceeded: slot.job!.deadline.duration(to: now)
                case .missedHeartbeats: slot.lastHeartbeat.duration(to: now) - self.configuration.heartbeatTimeout
                }
            self.slots[index].phase = .hung(reason)
            hangs.append(Hang(slot: index, workerID: slot.workerID, reason: reason, overdue: overdue))
        }
        return hangs
    }

    // MARK: A worker's life

    /// A worker starts in `slot` (the first or a replacement); returns its incarnation.
    public mutating func workerStarting(slot index: Int, now: Instant) -> Int {
        self.slots[index].incarnation += 1
        self.slots[index].phase = .starting
        self.slots[index].lastHeartbeat = now
        self.slots[index].job = nil
        return self.slots[index].incarnation
    }

    public enum Activity: Sendable, Hashable {
        /// Asking the store for a job.
        case claiming
        /// No job: waiting to be woken.
        case idle
    }

    /// The worker is between jobs: a sign of life.
    public mutating func workerReported(_ activity: Activity, slot index: Int, incarnation: Int, now: Instant) {
        guard self.isCurrent(slot: index, incarnation: incarnation), self.slots[index].phase.isAlive else { return }
        self.slots[index].lastHeartbeat = now
        self.slots[index].phase =
            switch activity {
            case .claiming: .claiming
            case .idle: .idle
            }
        self.slots[index].job = nil
    }

    /// The worker claimed `lease`, to run within `timeout`. `stopping`: its task is being stopped.
    public mutating func jobClaimed(
        _ lease: JobLease,
        timeout: Duration,
        slot index: Int,
        incarnation: Int,
        stopping: Bool,
        now: Instant
    ) -> ClaimAction {
        guard self.isCurrent(slot: index, incarnation: incarnation), !stopping else {
            return .giveBack(JobAction(lease: lease, settlement: .release))
        }
        self.slots[index].job = ActiveJob(lease: lease, startedAt: now, deadline: now.advanced(by: timeout))
        self.slots[index].phase = .busy
        self.slots[index].lastHeartbeat = now
        return .run
    }

    /// The claimed job names a module that does not exist or cannot run: not the worker's fault, and retrying
    /// would not help. It fails for good and the worker carries on.
    public func jobCannotRun(_ lease: JobLease, message: String) -> JobAction {
        JobAction(lease: lease, settlement: .fail(message: message, retryAfter: nil))
    }

    /// The worker stopped holding a job it claimed but never started (claimed with its last completion).
    public func claimAbandoned(_ lease: JobLease) -> JobAction {
        JobAction(lease: lease, settlement: .release)
    }

    /// The worker's task for the job with `fence` ended.
    /// - Parameters:
    ///   - stopping: the worker's task is being stopped; a failure then is the stop's doing, not the job's.
    ///   - date: the wall-clock time, for the job's age (it is persisted).
    ///   - jitter: a number in 0...1 for the retry backoff.
    public mutating func jobExecuted(
        fence: Int,
        _ execution: Execution,
        slot index: Int,
        incarnation: Int,
        stopping: Bool,
        date: Date,
        jitter: Double
    ) -> ExecutionAction {
        guard let job = self.takeJob(slot: index, incarnation: incarnation, fence: fence) else {
            return ExecutionAction(job: nil, next: stopping ? .stop : .work)
        }
        let lease = job.lease
        switch execution {
        case .success(let result):
            self.restart.workerSucceeded(slot: index)
            return ExecutionAction(
                job: JobAction(lease: lease, settlement: .complete(result: result, claimNext: !stopping)),
                next: .work
            )
        case .failure(let message, let cause):
            guard !stopping else {
                // Stopped from outside while running: hand the job back rather than charge it.
                return ExecutionAction(job: JobAction(lease: lease, settlement: .release), next: .stop)
            }
            switch cause {
            case .modelUnavailable(let retryAfter):
                // The model's failure, not this worker's: it is not replaced and the storm guard never hears
                // of it. The first retry delay keeps a failing model from being called in a tight loop.
                let decision = self.configuration.modelWait.decide(
                    job: lease.job,
                    retryAfter: retryAfter,
                    backoff: self.configuration.retry.delay(afterAttempt: 1, jitter: jitter),
                    now: date
                )
                let settlement: Settlement =
                    switch decision {
                    case .wait(let delay): .waitForModel(message: message, retryAfter: delay)
                    case .giveUp(let reason): .fail(message: reason, retryAfter: nil)
                    }
                return ExecutionAction(job: JobAction(lease: lease, settlement: settlement), next: .work)
            case .modelRejected:
                return ExecutionAction(job: self.charge(lease, message: message, jitter: jitter), next: .work)
            case .worker:
                return ExecutionAction(
                    job: self.charge(lease, message: message, jitter: jitter),
                    next: .crash(message)
                )
            }
        }
    }

    /// The lease the worker should renew: its current job's, if it runs one.
    public func leaseToRenew(slot index: Int, incarnation: Int) -> JobLease? {
        guard self.isCurrent(slot: index, incarnation: incarnation) else { return nil }
        return self.slots[index].job?.lease
    }

    /// The worker's heartbeat for `lease` came back: the store's answer, or nil when the store failed it (a
    /// database outage). Either is a sign of life: a worker is hung when its heartbeats stop coming back at
    /// all (a stalled process or store call, which no answer ends), not when the store it reports to is away;
    /// a store outage must not restart healthy workers. Their leases still run out, so a job another replica
    /// takes over meanwhile is fenced here.
    public mutating func heartbeatAnswered(
        _ outcome: JobWriteOutcome?,
        for lease: JobLease,
        slot index: Int,
        incarnation: Int,
        now: Instant
    ) -> HeartbeatAction {
        switch outcome {
        case .applied?, nil:
            if self.isCurrent(slot: index, incarnation: incarnation), self.slots[index].phase.isAlive {
                self.slots[index].lastHeartbeat = now
            }
            return .none
        case .fenced?:
            guard self.takeJob(slot: index, incarnation: incarnation, fence: lease.fence) != nil else { return .none }
            return .leaseLost(lease)
        }
    }

    /// The worker in `slot` ended with `exit`. Its job, if it left one, is handed back (stopped) or charged
    /// (crashed, hung); the slot is replaced unless the supervisor is stopping (`cancelled`) or the storm guard
    /// trips.
    /// - Parameter jitter: a number in 0...1 for the retry and restart backoffs.
    public mutating func workerExited(
        _ exit: Exit,
        slot index: Int,
        incarnation: Int,
        cancelled: Bool,
        now: Instant,
        jitter: Double
    ) -> ExitAction {
        let leftover = self.takeJob(slot: index, incarnation: incarnation)?.lease
        let job: JobAction?
        let cause: WorkerRestartStateMachine<Instant>.Cause
        switch exit {
        case .stopped:
            job = leftover.map { JobAction(lease: $0, settlement: .release) }
            if self.isCurrent(slot: index, incarnation: incarnation) { self.slots[index].phase = .stopped }
            if cancelled { return ExitAction(job: job, replacement: .none) }
            // A worker only stops by itself when its task was cancelled from outside; treat it as a crash.
            cause = .crash
        case .crashed(let message):
            job = leftover.map { self.charge($0, message: message, jitter: jitter) }
            cause = .crash
        case .hung(let reason):
            job = leftover.map { self.charge($0, message: "the worker hung (\(reason.rawValue))", jitter: jitter) }
            cause = .hang
        }
        switch self.restart.workerFailed(slot: index, cause: cause, now: now, jitter: jitter) {
        case .restart(let delay):
            self.slots[index].restarts += 1
            if case .hung = self.slots[index].phase {} else { self.slots[index].phase = .restarting }
            return ExitAction(job: job, replacement: .restart(after: delay))
        case .stop:
            self.slots[index].phase = .dead
            return ExitAction(job: job, replacement: .stormGuardTripped)
        }
    }

    // MARK: Helpers

    private func isCurrent(slot index: Int, incarnation: Int) -> Bool {
        self.slots[index].incarnation == incarnation
    }

    /// Removes the slot's job (only the one with `fence`, when given) and returns it: the caller settles it.
    private mutating func takeJob(slot index: Int, incarnation: Int, fence: Int? = nil) -> ActiveJob? {
        guard self.isCurrent(slot: index, incarnation: incarnation), let job = self.slots[index].job else {
            return nil
        }
        if let fence, job.lease.fence != fence { return nil }
        self.slots[index].job = nil
        return job
    }

    /// Charges the attempt: the job is retried after the retry policy's backoff while attempts remain.
    private func charge(_ lease: JobLease, message: String, jitter: Double) -> JobAction {
        let delay = self.configuration.retry.delay(afterAttempt: lease.attempt, jitter: jitter)
        return JobAction(lease: lease, settlement: .fail(message: message, retryAfter: delay))
    }
}
