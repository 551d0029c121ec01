import Foundation

/// A challenge issued with a 403: resending the same request with `x-confirmed: token:<id>` before it
/// expires approves it once. It is bound to the method and path it was issued for.
public struct ConfirmationChallenge: Sendable, Hashable {
    /// 128 random bits, as 32 lower-case hex digits.
    public var id: String
    public var method: String
    public var path: String
    public var issuedAt: Date
    public var expiresAt: Date

    public init(id: String, method: String, path: String, issuedAt: Date, expiresAt: Date) {
        self.id = id
        self.method = method
        self.path = path
        self.issuedAt = issuedAt
        self.expiresAt = expiresAt
    }

    public var timeToLiveMilliseconds: Int64 {
        Int64((self.expiresAt.timeIntervalSince(self.issuedAt) * 1000).rounded())
    }

    /// What a GPT can relay to its operator. Says how a person approves; never names trusted ids or the
    /// automation credentials.
    public var instructions: [String] {
        [
            "This action changes the running system, so a person must approve it before it runs.",
            "Ask the operator to approve \(self.method) \(self.path); do not retry on your own.",
            "Once approved, resend the same request with the header 'x-confirmed: token:\(self.id)'. "
                + "The token works once, only for \(self.method) \(self.path), "
                + "and expires in \(self.timeToLiveMilliseconds / 1000) seconds.",
            "Alternatively, the operator can resend the request with the header 'x-confirmed: yes'.",
        ]
    }
}

extension ConfirmationGrant {
    public init(_ challenge: ConfirmationChallenge) {
        self.init(
            kind: .challenge,
            id: challenge.id,
            method: challenge.method,
            path: challenge.path,
            issuedAt: challenge.issuedAt,
            expiresAt: challenge.expiresAt
        )
    }

    public init(_ token: OneTimeToken, issuedAt: Date) {
        self.init(kind: .token, id: token.token, issuedAt: issuedAt, expiresAt: token.expiresAt)
    }
}
