import Foundation

/// A token minted by an automation (`POST /confirm/tokens`): `x-arcanos-confirm-token: <token>` approves one
/// request, on any gated route, before `expiresAt`.
public struct OneTimeToken: Sendable, Hashable {
    /// 128 random bits, as 32 lower-case hex digits.
    public var token: String
    public var expiresAt: Date

    public init(token: String, expiresAt: Date) {
        self.token = token
        self.expiresAt = expiresAt
    }
}
