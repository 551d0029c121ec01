import Foundation

/// What the replicas of one deployment share besides jobs and the audit (DESIGN §9): the confirmation gate's
/// challenges and one-time tokens, the rate-limit counters, and the shared record (`lastHeal`, the last
/// self-test summary). In PostgreSQL every replica on the database sees the same state; in `arcanos.sqlite`,
/// every process on the file; in memory, one process (tests).
///
/// Every call takes `now`, so expiry and windows follow the caller's clock. A store that cannot be reached
/// throws `storeUnavailable`.
public protocol SharedStateStore: Sendable {
    /// Stores `grant` until it expires. Expired grants of its kind are dropped and, past `capacity` of them,
    /// the oldest: callers that never come back cannot grow the store.
    func insert(_ grant: ConfirmationGrant, capacity: Int, now: Date) async throws

    /// Removes the grant `id` of `kind` whatever happens next, and returns it when it had not expired. Exactly
    /// one of any number of concurrent takes, on any replica, gets it.
    func take(_ kind: ConfirmationGrant.Kind, id: String, now: Date) async throws -> ConfirmationGrant?

    /// Grants of `kind` held, expired ones not yet dropped included.
    func count(_ kind: ConfirmationGrant.Kind) async throws -> Int

    /// Counts an event from `caller` against `limit` in `scope` (`heal`, `confirm-token`) when it is under it.
    /// Concurrent calls for one caller are serialized: a limit of N lets exactly N through.
    func acquire(scope: String, caller: String, limit: RateLimit, now: Date) async throws -> RateLimitDecision

    /// How long until `caller` may be counted again in `scope`; nil when it is under its limit. Counts nothing.
    func retryAfter(scope: String, caller: String, limit: RateLimit, now: Date) async throws -> Duration?

    /// Replaces the shared record's `key`.
    func setRecord(_ value: JSONValue, for key: SharedRecordKey, now: Date) async throws

    /// The shared record's `key`, nil when it was never written.
    func record(_ key: SharedRecordKey) async throws -> JSONValue?
}

/// A challenge (issued with a 403) or a one-time token (minted by an automation), as the gate stores it.
public struct ConfirmationGrant: Sendable, Hashable {
    public enum Kind: String, Sendable, Hashable, CaseIterable {
        case challenge
        case token
    }

    public var kind: Kind
    /// 128 random bits, as 32 lower-case hex digits.
    public var id: String
    /// What a challenge is bound to; empty for a token, which approves any gated route.
    public var method: String
    public var path: String
    public var issuedAt: Date
    public var expiresAt: Date

    public init(kind: Kind, id: String, method: String = "", path: String = "", issuedAt: Date, expiresAt: Date) {
        self.kind = kind
        self.id = id
        self.method = method
        self.path = path
        self.issuedAt = issuedAt
        self.expiresAt = expiresAt
    }
}

/// The members of the shared record, and where each replica mirrors them in its `systemState.json`.
public enum SharedRecordKey: String, Sendable, Hashable, CaseIterable {
    case lastHeal
    case selfTest

    /// The member's path in `systemState.json`.
    public var statePath: [String] {
        switch self {
        case .lastHeal: ["workers", "lastHeal"]
        case .selfTest: ["selfTest"]
        }
    }
}

/// The `RateLimit` scopes the server counts in.
public enum RateLimitScope {
    /// Heal requests, per principal.
    public static let heal = "heal"
    /// Failed automation-secret attempts on `POST /confirm/tokens`, per client address.
    public static let confirmToken = "confirm-token"
}
