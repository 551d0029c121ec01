import Logging

extension Backoff {
    /// Keeps a long-lived connection (a `LISTEN`, say) up until the task is cancelled: runs `session` again each
    /// time it ends, closed or thrown, logging `interrupted` with the error and waiting the next delay first.
    /// The delays grow while sessions fail before calling `connected`, and start over once one does.
    public func reconnecting(
        logger: Logger,
        interrupted message: Logger.Message,
        _ session: (_ connected: () -> Void) async throws -> Void
    ) async {
        var failures = 0
        while !Task.isCancelled {
            let why: String
            do {
                try await session { failures = 0 }
                why = "the connection closed"
            } catch {
                why = "\(error)"
            }
            guard !Task.isCancelled else { return }
            let wait = self.delay(failures, random: .random(in: 0...1))
            logger.warning(message, metadata: ["error": "\(why)", "retry.ms": "\(wait.milliseconds)"])
            failures += 1
            try? await Task.sleep(for: wait)
        }
    }
}
