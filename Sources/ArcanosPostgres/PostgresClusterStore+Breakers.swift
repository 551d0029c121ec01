import ArcanosCore
import Foundation
import PostgresNIO

/// The shared breakers: a row per model in `cluster_breakers`, and a notification on `breakerChannel` with each
/// write, sent by the writing statement itself so it is delivered on commit.
extension PostgresClusterStore: SharedBreakerStore {
    /// The channel of breaker changes; the payload is the `SharedBreakerState` as JSON (well under
    /// PostgreSQL's 8000-byte limit).
    static let breakerChannel = "arcanos_breakers"

    public func publish(_ state: SharedBreakerState) async throws {
        let payload = String(decoding: try Self.encoder.encode(state), as: UTF8.self)
        let rows = try await self.database.query(
            """
            WITH written AS (
                INSERT INTO cluster_breakers (model, open_until, failed_probes, changed_by)
                VALUES (\(state.model), \(state.openUntil?.storedMilliseconds), \(state.failedProbes), \(state.replicaID))
                ON CONFLICT (model) DO UPDATE SET open_until = excluded.open_until,
                    failed_probes = excluded.failed_probes, changed_by = excluded.changed_by,
                    probe_holder = NULL, probe_until = NULL
                RETURNING 1
            )
            SELECT pg_notify(\(Self.breakerChannel), \(payload)) FROM written
            """,
            logger: self.logger
        )
        for try await _ in rows {}
    }

    public func breakerStates() async throws -> [SharedBreakerState] {
        let rows = try await self.database.query(
            "SELECT model, open_until, failed_probes, changed_by FROM cluster_breakers ORDER BY model",
            logger: self.logger
        )
        var states: [SharedBreakerState] = []
        for try await (model, openUntil, failedProbes, changedBy) in rows.decode((String, Int64?, Int, String).self) {
            states.append(
                SharedBreakerState(
                    model: model,
                    openUntil: openUntil.map(Date.init(storedMilliseconds:)),
                    failedProbes: failedProbes,
                    replicaID: changedBy
                )
            )
        }
        return states
    }

    public func acquireProbe(model: String, holder: String, until: Date, now: Date) async throws -> Bool {
        // A model no replica has published yet gets its row here, closed, with the lease.
        let rows = try await self.database.query(
            """
            INSERT INTO cluster_breakers (model, open_until, failed_probes, changed_by, probe_holder, probe_until)
            VALUES (\(model), NULL, 0, \(holder), \(holder), \(until.storedMilliseconds))
            ON CONFLICT (model) DO UPDATE SET probe_holder = excluded.probe_holder, probe_until = excluded.probe_until
            WHERE cluster_breakers.probe_holder IS NULL OR cluster_breakers.probe_holder = excluded.probe_holder
                OR cluster_breakers.probe_until <= \(now.storedMilliseconds)
            RETURNING 1
            """,
            logger: self.logger
        )
        for try await _ in rows { return true }
        return false
    }

    public func listenForBreakers(
        ready: () async -> Void,
        changed: (SharedBreakerState) async -> Void
    ) async throws {
        try await self.database.listen(on: Self.breakerChannel, connectionID: 2, logger: self.logger) {
            notifications in
            await ready()
            for try await notification in notifications {
                guard
                    let state = try? Self.decoder.decode(
                        SharedBreakerState.self,
                        from: Data(notification.payload.utf8)
                    )
                else {
                    self.logger.warning("ignored a malformed breaker notification")
                    continue
                }
                await changed(state)
            }
        }
    }
}
