import Foundation
import Synchronization

/// The shared state of one process, in memory: the stores of the pure values the SQL stores mirror. For tests
/// and for components built without a database.
public final class InMemorySharedStateStore: SharedStateStore {
    private struct State {
        var grants: [ConfirmationGrant.Kind: SingleUseStore<ConfirmationGrant>] = [:]
        var limiters: [String: SlidingWindowRateLimiter<WallClockInstant>] = [:]
        var records: [SharedRecordKey: JSONValue] = [:]
    }

    private let state = Mutex(State())

    public init() {}

    public func insert(_ grant: ConfirmationGrant, capacity: Int, now: Date) async throws {
        self.state.withLock { state in
            // Mutated in place: a copy out and back would copy the whole store on every insert.
            state.grants[grant.kind, default: SingleUseStore(capacity: max(capacity, 1))]
                .insert(grant, key: grant.id, expiresAt: grant.expiresAt, now: now)
        }
    }

    public func take(_ kind: ConfirmationGrant.Kind, id: String, now: Date) async throws -> ConfirmationGrant? {
        self.state.withLock { $0.grants[kind]?.take(id, now: now) }
    }

    public func count(_ kind: ConfirmationGrant.Kind) async throws -> Int {
        self.state.withLock { $0.grants[kind]?.count ?? 0 }
    }

    public func acquire(scope: String, caller: String, limit: RateLimit, now: Date) async throws -> RateLimitDecision {
        self.state.withLock { state in
            state.limiters[scope, default: SlidingWindowRateLimiter(configuration: limit)]
                .acquire(caller: caller, now: WallClockInstant(now))
        }
    }

    public func retryAfter(scope: String, caller: String, limit: RateLimit, now: Date) async throws -> Duration? {
        self.state.withLock { state in
            state.limiters[scope]?.retryAfter(caller: caller, now: WallClockInstant(now))
        }
    }

    public func setRecord(_ value: JSONValue, for key: SharedRecordKey, now: Date) async throws {
        self.state.withLock { $0.records[key] = value }
    }

    public func record(_ key: SharedRecordKey) async throws -> JSONValue? {
        self.state.withLock { $0.records[key] }
    }
}
