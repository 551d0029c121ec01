/// The breaker for one model, as a pure value: every transition takes `now`, so tests need no clock.
///
/// Closed counts consecutive failures; at `failureThreshold` it opens, first for `open.initial`. After that
/// the next caller (or the client's own prober) gets the single half-open probe; its success closes the
/// breaker and resets the open time, its failure re-opens it for a longer time (`open`: doubling, jittered,
/// capped).
public struct CircuitBreakerStateMachine<Instant: InstantProtocol>: Sendable where Instant.Duration == Duration {
    public struct Configuration: Sendable, Hashable {
        /// Consecutive failures that open the breaker.
        public var failureThreshold: Int
        /// How long an open breaker rejects calls before letting one probe through, by failed probes so far.
        public var open: Backoff

        /// - Parameters:
        ///   - openDuration: the first open time; each failed probe doubles it up to `maximumOpenDuration`.
        ///   - jitter: the fraction of an open time that jitter may take away, so replicas do not probe together.
        public init(
            failureThreshold: Int = 5,
            openDuration: Duration = .seconds(1),
            maximumOpenDuration: Duration = .seconds(60),
            jitter: Double = 0.2
        ) {
            precondition(failureThreshold >= 1, "failureThreshold must be at least 1")
            self.failureThreshold = failureThreshold
            self.open = Backoff(initial: openDuration, factor: 2, maximum: maximumOpenDuration, jitter: jitter)
        }
    }

    public enum State: Sendable, Hashable {
        case closed(consecutiveFailures: Int)
        case open(until: Instant)
        case halfOpen(probeInFlight: Bool)
    }

    public enum Decision: Sendable, Hashable {
        case allow
        /// The one call allowed while half-open; its outcome decides the state.
        case allowProbe
        case reject(retryAfter: Duration)
    }

    /// The public, clock-free name of a state.
    public enum Phase: String, Sendable, Hashable, Codable {
        case closed, open, halfOpen = "half_open"
    }

    public let configuration: Configuration
    public private(set) var state: State = .closed(consecutiveFailures: 0)
    /// How many times the breaker has opened.
    public private(set) var openings = 0
    /// Probes that failed since the breaker last closed: the exponent of the open time.
    public private(set) var failedProbes = 0

    public init(configuration: Configuration = .init()) {
        self.configuration = configuration
    }

    public var phase: Phase {
        switch self.state {
        case .closed: .closed
        case .open: .open
        case .halfOpen: .halfOpen
        }
    }

    /// Whether a call may go out now. A probe decision must be followed by exactly one `record…` call.
    public mutating func decide(now: Instant) -> Decision {
        switch self.state {
        case .closed:
            return .allow
        case .open(let until):
            if now < until { return .reject(retryAfter: now.duration(to: until)) }
            self.state = .halfOpen(probeInFlight: true)
            return .allowProbe
        case .halfOpen(let probeInFlight):
            if probeInFlight { return .reject(retryAfter: .zero) }
            self.state = .halfOpen(probeInFlight: true)
            return .allowProbe
        }
    }

    /// Read-only view of `decide`: would a call be rejected now, and for how long.
    public func rejection(now: Instant) -> Duration? {
        switch self.state {
        case .closed: nil
        case .open(let until): now < until ? now.duration(to: until) : nil
        case .halfOpen(let probeInFlight): probeInFlight ? .zero : nil
        }
    }

    /// Whether the breaker's own prober should call the model now: open and due, or half-open with no probe
    /// out. `decide(now:)` still hands out the one probe, to the prober or to a caller, whoever comes first.
    public func probeDue(now: Instant) -> Bool {
        switch self.state {
        case .closed: false
        case .open(let until): now >= until
        case .halfOpen(let probeInFlight): !probeInFlight
        }
    }

    /// When the next probe is due; nil while closed or while a probe is out (its outcome decides).
    public func nextProbe(now: Instant) -> Instant? {
        switch self.state {
        case .closed: nil
        case .open(let until): until
        case .halfOpen(let probeInFlight): probeInFlight ? nil : now
        }
    }

    public mutating func recordSuccess() {
        self.state = .closed(consecutiveFailures: 0)
        self.failedProbes = 0
    }

    /// - Parameter jitter: a number in 0...1 that shortens the next open time (see `Backoff.delay`).
    public mutating func recordFailure(now: Instant, jitter: Double = 0) {
        switch self.state {
        case .closed(let failures):
            if failures + 1 >= self.configuration.failureThreshold {
                self.open(now: now, jitter: jitter)
            } else {
                self.state = .closed(consecutiveFailures: failures + 1)
            }
        case .halfOpen:
            self.failedProbes += 1
            self.open(now: now, jitter: jitter)
        case .open:
            // A call that started before the breaker opened finished late; the breaker is already open.
            break
        }
    }

    /// A call that ended without saying anything about the provider (cancelled, or a non-counting failure).
    /// It frees the probe slot so the next caller can probe; it never moves the failure count.
    public mutating func recordNeutral() {
        if case .halfOpen = self.state {
            self.state = .halfOpen(probeInFlight: false)
        }
    }

    // MARK: Another replica's breaker for the same model (docs/cluster.md, "Shared breakers")

    /// Another replica's breaker opened until `until` after `failedProbes` failed probes: this one rejects until
    /// then too, and its next open time grows from there. A probe of this replica's own still out is left to
    /// decide.
    public mutating func adoptOpen(until: Instant, failedProbes: Int) {
        if case .halfOpen(probeInFlight: true) = self.state { return }
        if case .open = self.state {} else { self.openings += 1 }
        self.state = .open(until: until)
        self.failedProbes = max(self.failedProbes, failedProbes)
    }

    /// Another replica's probe answered: the model is back.
    public mutating func adoptClosed() {
        if case .closed = self.state { return }
        self.recordSuccess()
    }

    /// The half-open probe this breaker handed out is another replica's to send: wait until `until` (the
    /// longest that probe may take) without counting a failure; that replica's outcome arrives before then.
    public mutating func deferProbe(until: Instant) {
        guard case .halfOpen = self.state else { return }
        self.state = .open(until: until)
    }

    private mutating func open(now: Instant, jitter: Double) {
        let duration = self.configuration.open.delay(self.failedProbes, random: jitter)
        self.state = .open(until: now.advanced(by: duration))
        self.openings += 1
    }
}
