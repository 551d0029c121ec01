/// The breaker for one model, as a pure value: every transition takes `now`, so tests need no clock.
///
/// Closed counts consecutive failures; at `failureThreshold` it opens for `openDuration`. After that the
/// next caller gets the single half-open probe; its success closes the breaker, its failure re-opens it.
public struct CircuitBreakerStateMachine<Instant: InstantProtocol>: Sendable where Instant.Duration == Duration {
    public struct Configuration: Sendable, Hashable {
        /// Consecutive failures that open the breaker.
        public var failureThreshold: Int
        /// How long an open breaker rejects calls before letting one probe through.
        public var openDuration: Duration

        public init(failureThreshold: Int = 5, openDuration: Duration = .seconds(30)) {
            precondition(failureThreshold >= 1, "failureThreshold must be at least 1")
            self.failureThreshold = failureThreshold
            self.openDuration = openDuration
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

    public mutating func recordSuccess() {
        self.state = .closed(consecutiveFailures: 0)
    }

    public mutating func recordFailure(now: Instant) {
        switch self.state {
        case .closed(let failures):
            if failures + 1 >= self.configuration.failureThreshold {
                self.open(now: now)
            } else {
                self.state = .closed(consecutiveFailures: failures + 1)
            }
        case .halfOpen:
            self.open(now: now)
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

    private mutating func open(now: Instant) {
        self.state = .open(until: now.advanced(by: self.configuration.openDuration))
        self.openings += 1
    }
}
