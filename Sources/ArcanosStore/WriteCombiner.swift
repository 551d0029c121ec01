import GRDB
import Synchronization

/// Group commit for a SQLite writer: concurrent write operations are queued and run together in one
/// transaction, each inside its own savepoint (so one failing operation rolls back alone), and every caller
/// is resumed once that transaction has committed. SQLite has one writer; under load this turns many small
/// commits (and thread hops into GRDB's writer queue) into a few larger ones, all run on the writer's queue.
final class WriteCombiner: Sendable {
    private struct Pending: Sendable {
        /// Runs the operation inside the batch's transaction, keeping its outcome.
        var run: @Sendable (Database) -> Void
        /// Resumes the caller: with the kept outcome once the batch committed, with the error otherwise.
        var finish: @Sendable (Result<Void, any Error>) -> Void
    }

    private struct State {
        var pending: [Pending] = []
        var draining = false
    }

    private let writer: any DatabaseWriter
    private let state = Mutex(State())
    /// Operations per transaction, at most: bounds how long one commit makes the next batch wait.
    private let maximumBatch: Int

    init(writer: any DatabaseWriter, maximumBatch: Int = 256) {
        self.writer = writer
        self.maximumBatch = maximumBatch
    }

    func write<T: Sendable>(_ operation: @escaping @Sendable (Database) throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<T, any Error>) in
            let outcome = Mutex<Result<T, any Error>?>(nil)
            let pending = Pending(
                run: { db in
                    let result: Result<T, any Error>
                    do {
                        var value: T?
                        try db.inSavepoint {
                            value = try operation(db)
                            return .commit
                        }
                        result = .success(value!)
                    } catch {
                        result = .failure(error)
                    }
                    outcome.withLock { $0 = result }
                },
                finish: { commit in
                    switch commit {
                    case .success:
                        continuation.resume(with: outcome.withLock { $0 } ?? .failure(CancellationError()))
                    case .failure(let error):
                        continuation.resume(throwing: error)
                    }
                }
            )
            let startDrain = self.state.withLock { state -> Bool in
                state.pending.append(pending)
                guard !state.draining else { return false }
                state.draining = true
                return true
            }
            if startDrain {
                self.writer.asyncWriteWithoutTransaction { db in self.drain(db) }
            }
        }
    }

    /// Runs on the writer's queue until nothing is pending: batches arriving meanwhile need no further hop.
    private func drain(_ db: Database) {
        while true {
            let batch = self.state.withLock { state -> [Pending] in
                let batch = Array(state.pending.prefix(self.maximumBatch))
                state.pending.removeFirst(batch.count)
                if batch.isEmpty { state.draining = false }
                return batch
            }
            guard !batch.isEmpty else { return }
            let commit: Result<Void, any Error>
            do {
                try db.inTransaction {
                    for pending in batch { pending.run(db) }
                    return .commit
                }
                commit = .success(())
            } catch {
                commit = .failure(error)
            }
            for pending in batch { pending.finish(commit) }
        }
    }
}
