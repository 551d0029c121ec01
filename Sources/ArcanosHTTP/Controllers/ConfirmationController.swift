import ArcanosCore
import Foundation
import HTTPTypes
import Hummingbird
import Logging

/// `POST /confirm/tokens`: a trusted automation (one holding `ARCANOS_AUTOMATION_SECRET`) mints a one-time
/// token that approves one gated request through `x-arcanos-confirm-token`.
struct ConfirmationController {
    let service: ConfirmationService

    func addRoutes(to router: Router<AppRequestContext>) {
        router.post("/confirm/tokens", use: self.mintToken)
    }

    struct MintedToken: Encodable {
        var token: String
        var expiresAt: Date
    }

    @Sendable
    func mintToken(_ request: Request, context: AppRequestContext) async throws -> Response {
        // The messages name no header and say nothing about whether a secret is configured.
        let caller = context.remoteAddress?.ipAddress ?? "unknown"
        switch try await self.service.mintToken(for: ConfirmationRequest(request), caller: caller) {
        case .missing:
            throw ArcanosError(.unauthorized, "Automation credentials are required to mint a confirmation token")
        case .rejected:
            context.logger.notice("confirmation token refused", metadata: ["confirmation.reason": "bad_credentials"])
            throw ArcanosError(.forbidden, "Automation credentials were not accepted")
        case .rateLimited(let retryAfter):
            context.logger.notice("confirmation token refused", metadata: ["confirmation.reason": "rate_limited"])
            throw ArcanosError(
                .rateLimited,
                "Too many failed attempts from this address; try again later",
                retryAfter: retryAfter
            )
        case .minted(let minted):
            context.logger.info(
                "confirmation token minted",
                metadata: ["confirmation.expires_at": "\(minted.expiresAt.iso8601Milliseconds)"]
            )
            return try Response.json(MintedToken(token: minted.token, expiresAt: minted.expiresAt), status: .created)
        }
    }
}
