import ArcanosCore
import Foundation

/// The behaviour every `SharedStateStore` must have, for challenges, one-time tokens, rate limits and the
/// shared record. A store's test suite runs each case against a fresh store:
///
/// ```swift
/// @Test(arguments: SharedStateContract.Case.allCases)
/// func sqliteStoreKeepsTheContract(_ check: SharedStateContract.Case) async throws {
///     try await SharedStateContract { try makeStore() }.run(check)
/// }
/// ```
public struct SharedStateContract: Sendable {
    public enum Case: String, Sendable, CaseIterable, CustomStringConvertible {
        case challengeIsTakenOnceAndOnlyBeforeItExpires
        case tokenIsTakenOnceAndOnlyBeforeItExpires
        case kindsAreSeparate
        case grantsStayAtTheirCapacityEvictingTheOldest
        case expiredGrantsAreDroppedAsNewOnesArrive
        case concurrentTakesLetExactlyOneThrough
        case limitAllowsItsMaximumThenRejectsWithRetryAfter
        case retryAfterCountsNothing
        case concurrentAcquiresLetExactlyTheMaximumThrough
        case limitsAreCountedPerScopeAndCaller
        case recordRoundTripsAndIsReplaced

        public var description: String { self.rawValue }
    }

    public let makeStore: @Sendable () async throws -> any SharedStateStore

    public init(makeStore: @escaping @Sendable () async throws -> any SharedStateStore) {
        self.makeStore = makeStore
    }

    /// A whole millisecond, so every store round-trips it exactly.
    static let t0 = Date(timeIntervalSince1970: 1_800_000_000)

    public func run(_ check: Case) async throws {
        let store = try await self.makeStore()
        switch check {
        case .challengeIsTakenOnceAndOnlyBeforeItExpires: try await Self.takenOnce(store, kind: .challenge)
        case .tokenIsTakenOnceAndOnlyBeforeItExpires: try await Self.takenOnce(store, kind: .token)
        case .kindsAreSeparate: try await Self.kindsAreSeparate(store)
        case .grantsStayAtTheirCapacityEvictingTheOldest: try await Self.capacity(store)
        case .expiredGrantsAreDroppedAsNewOnesArrive: try await Self.expiredDropped(store)
        case .concurrentTakesLetExactlyOneThrough: try await Self.concurrentTakes(store)
        case .limitAllowsItsMaximumThenRejectsWithRetryAfter: try await Self.limitAllowsMaximum(store)
        case .retryAfterCountsNothing: try await Self.retryAfterCountsNothing(store)
        case .concurrentAcquiresLetExactlyTheMaximumThrough: try await Self.concurrentAcquires(store)
        case .limitsAreCountedPerScopeAndCaller: try await Self.perScopeAndCaller(store)
        case .recordRoundTripsAndIsReplaced: try await Self.record(store)
        }
    }

    private static func check(_ condition: Bool, _ message: String) throws {
        if !condition { throw ContractViolation(message) }
    }

    static func grant(
        _ kind: ConfirmationGrant.Kind,
        _ id: String,
        at issuedAt: Date = Self.t0,
        ttl: TimeInterval = 120
    ) -> ConfirmationGrant {
        ConfirmationGrant(
            kind: kind,
            id: id,
            method: kind == .challenge ? "POST" : "",
            path: kind == .challenge ? "/workers/heal" : "",
            issuedAt: issuedAt,
            expiresAt: issuedAt.addingTimeInterval(ttl)
        )
    }

    static func takenOnce(_ store: any SharedStateStore, kind: ConfirmationGrant.Kind) async throws {
        let first = Self.grant(kind, "a1")
        let second = Self.grant(kind, "b2")
        try await store.insert(first, capacity: 100, now: Self.t0)
        try await store.insert(second, capacity: 100, now: Self.t0)
        try Self.check(try await store.count(kind) == 2, "two grants are held")
        let justBefore = first.expiresAt.addingTimeInterval(-0.001)
        try Self.check(try await store.take(kind, id: "a1", now: justBefore) == first, "a grant comes back whole")
        try Self.check(try await store.take(kind, id: "a1", now: Self.t0) == nil, "a taken grant is gone")
        try Self.check(try await store.take(kind, id: "b2", now: second.expiresAt) == nil, "expired at expiresAt")
        try Self.check(try await store.take(kind, id: "b2", now: Self.t0) == nil, "an expired take burns it")
        try Self.check(try await store.take(kind, id: "zz", now: Self.t0) == nil, "an unknown id is nothing")
        try Self.check(try await store.count(kind) == 0, "nothing is held")
    }

    static func kindsAreSeparate(_ store: any SharedStateStore) async throws {
        try await store.insert(Self.grant(.challenge, "same"), capacity: 100, now: Self.t0)
        try Self.check(try await store.take(.token, id: "same", now: Self.t0) == nil, "a challenge is not a token")
        try await store.insert(Self.grant(.token, "same"), capacity: 100, now: Self.t0)
        let held = (try await store.count(.challenge), try await store.count(.token))
        try Self.check(held == (1, 1), "one of each is held")
        try Self.check(try await store.take(.token, id: "same", now: Self.t0)?.kind == .token, "the token")
        try Self.check(try await store.take(.challenge, id: "same", now: Self.t0)?.kind == .challenge, "the challenge")
    }

    static func capacity(_ store: any SharedStateStore) async throws {
        for index in 0..<12 {
            try await store.insert(Self.grant(.challenge, "c\(index)"), capacity: 5, now: Self.t0)
            try Self.check(try await store.count(.challenge) <= 5, "never more than the capacity")
        }
        try Self.check(try await store.count(.challenge) == 5, "full at the capacity")
        try Self.check(try await store.take(.challenge, id: "c6", now: Self.t0) == nil, "the oldest were evicted")
        for index in 7..<12 {
            try Self.check(try await store.take(.challenge, id: "c\(index)", now: Self.t0) != nil, "the newest stay")
        }
    }

    static func expiredDropped(_ store: any SharedStateStore) async throws {
        for index in 0..<20 {
            try await store.insert(Self.grant(.token, "t\(index)", ttl: 10), capacity: 100, now: Self.t0)
        }
        let later = Self.t0.addingTimeInterval(10)
        try await store.insert(Self.grant(.token, "fresh", at: later, ttl: 10), capacity: 100, now: later)
        try Self.check(try await store.count(.token) == 1, "expired grants went as a new one arrived")
    }

    static func concurrentTakes(_ store: any SharedStateStore) async throws {
        for index in 0..<4 {
            try await store.insert(Self.grant(.challenge, "once\(index)"), capacity: 100, now: Self.t0)
        }
        for index in 0..<4 {
            let taken = try await withThrowingTaskGroup(of: Bool.self) { group in
                for _ in 0..<16 {
                    group.addTask { try await store.take(.challenge, id: "once\(index)", now: Self.t0) != nil }
                }
                return try await group.reduce(0) { $0 + ($1 ? 1 : 0) }
            }
            try Self.check(taken == 1, "16 concurrent takes of one grant: \(taken) got it, not 1")
        }
    }

    static func limitAllowsMaximum(_ store: any SharedStateStore) async throws {
        let limit = RateLimit(maximum: 3, window: .seconds(60))
        for index in 0..<3 {
            let decision = try await store.acquire(
                scope: "heal",
                caller: "a",
                limit: limit,
                now: Self.t0.addingTimeInterval(Double(index))
            )
            try Self.check(decision == .allow(remaining: 2 - index), "allowed under the limit: \(decision)")
        }
        let rejected = try await store.acquire(
            scope: "heal",
            caller: "a",
            limit: limit,
            now: Self.t0.addingTimeInterval(10)
        )
        try Self.check(rejected == .reject(retryAfter: .seconds(50)), "rejected until the oldest leaves: \(rejected)")
        let slid = try await store.acquire(
            scope: "heal",
            caller: "a",
            limit: limit,
            now: Self.t0.addingTimeInterval(60)
        )
        try Self.check(slid == .allow(remaining: 0), "the window slides: \(slid)")
    }

    static func retryAfterCountsNothing(_ store: any SharedStateStore) async throws {
        let limit = RateLimit(maximum: 2, window: .seconds(10))
        for _ in 0..<5 {
            let retryAfter = try await store.retryAfter(scope: "s", caller: "a", limit: limit, now: Self.t0)
            try Self.check(retryAfter == nil, "a caller never counted may go")
        }
        _ = try await store.acquire(scope: "s", caller: "a", limit: limit, now: Self.t0)
        _ = try await store.acquire(scope: "s", caller: "a", limit: limit, now: Self.t0.addingTimeInterval(4))
        let waiting = try await store.retryAfter(
            scope: "s",
            caller: "a",
            limit: limit,
            now: Self.t0.addingTimeInterval(6)
        )
        try Self.check(waiting == .seconds(4), "retry after the oldest leaves: \(String(describing: waiting))")
        let free = try await store.retryAfter(
            scope: "s",
            caller: "a",
            limit: limit,
            now: Self.t0.addingTimeInterval(10)
        )
        try Self.check(free == nil, "free once it left")
    }

    static func concurrentAcquires(_ store: any SharedStateStore) async throws {
        let limit = RateLimit(maximum: 5, window: .seconds(60))
        let allowed = try await withThrowingTaskGroup(of: Bool.self) { group in
            for _ in 0..<20 {
                group.addTask {
                    let decision = try await store.acquire(scope: "heal", caller: "busy", limit: limit, now: Self.t0)
                    if case .allow = decision { return true }
                    return false
                }
            }
            return try await group.reduce(0) { $0 + ($1 ? 1 : 0) }
        }
        try Self.check(allowed == 5, "20 concurrent requests against a limit of 5: \(allowed) allowed")
    }

    static func perScopeAndCaller(_ store: any SharedStateStore) async throws {
        let limit = RateLimit(maximum: 1, window: .seconds(60))
        for (scope, caller) in [("heal", "a"), ("heal", "b"), ("confirm-token", "a")] {
            let decision = try await store.acquire(scope: scope, caller: caller, limit: limit, now: Self.t0)
            try Self.check(decision == .allow(remaining: 0), "\(scope)/\(caller) is counted on its own")
        }
        let again = try await store.acquire(scope: "heal", caller: "a", limit: limit, now: Self.t0)
        try Self.check(again == .reject(retryAfter: .seconds(60)), "heal/a is at its limit")
    }

    static func record(_ store: any SharedStateStore) async throws {
        try Self.check(try await store.record(.lastHeal) == nil, "a record never written is nil")
        let first: JSONValue = [
            "planId": "p1", "verified": true, "nested": ["n": .number(1.5), "list": [1, "two", .null]],
        ]
        try await store.setRecord(first, for: .lastHeal, now: Self.t0)
        try Self.check(try await store.record(.lastHeal) == first, "a record comes back whole")
        try Self.check(try await store.record(.selfTest) == nil, "keys are separate")
        let second: JSONValue = ["planId": "p2"]
        try await store.setRecord(second, for: .lastHeal, now: Self.t0.addingTimeInterval(1))
        try Self.check(try await store.record(.lastHeal) == second, "a write replaces the record")
    }
}
