/// For state a test can only see by asking (a route's answer, a job's status over HTTP): asks again every
/// `interval` until `condition` holds, and throws `Condition.Timeout` once `deadline` has passed. A test that
/// can be told instead waits on an `EventLog`.
public enum Condition {
    public struct Timeout: Error, CustomStringConvertible {
        public var condition: String
        public var deadline: Duration
        public var description: String { "\(self.condition) did not hold within \(self.deadline)" }
    }

    public static func wait(
        _ condition: String,
        within deadline: Duration,
        every interval: Duration = .milliseconds(50),
        until holds: () async throws -> Bool
    ) async throws {
        let end = ContinuousClock.now + deadline
        while try await !holds() {
            guard ContinuousClock.now < end else { throw Timeout(condition: condition, deadline: deadline) }
            try await Task.sleep(for: interval)
        }
    }
}
