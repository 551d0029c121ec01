import ArcanosCore
import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import NIOFoundationCompat

/// What the auto-heal routes need, built by the executable (or a test) and handed over in `HTTPDependencies`.
public struct AutoHealRoutes: Sendable {
    public var status: WorkerStatusService
    public var heal: HealService
    public var audit: any AuditLog
    /// Reported as `watchdog` in `GET /workers/status`; nil leaves the block null.
    public var watchdog: HealWatchdog? = nil

    public init(status: WorkerStatusService, heal: HealService, audit: any AuditLog, watchdog: HealWatchdog? = nil) {
        self.status = status
        self.heal = heal
        self.audit = audit
        self.watchdog = watchdog
    }
}

/// `GET /workers/status` (public projection; `?view=detail` for operators), `POST /workers/heal` (behind
/// the confirmation gate) and `GET /workers/heals` (the audit). Decisions live in `HealService`.
struct AutoHealController {
    let routes: AutoHealRoutes
    let policy: APIKeyPolicy

    func addRoutes(public router: Router<AppRequestContext>, authenticated: RouterGroup<AppRequestContext>) {
        router.get("/workers/status", use: self.status)
        authenticated.get("/workers/heals", use: self.heals)
    }

    /// `POST /workers/heal`, on a group behind the confirmation gate.
    func addGatedRoutes(to gated: RouterGroup<AppRequestContext>) {
        gated.post("heal", use: self.heal)
    }

    @Sendable
    func status(_ request: Request, context: AppRequestContext) async throws -> Response {
        let view: WorkerStatusPayload.View
        switch request.uri.queryParameters["view"].map(String.init) {
        case nil, "public"?: view = .public
        case "detail"?:
            try self.authorizeDetail(request, context: context)
            view = .detail
        default:
            throw ArcanosError.invalidRequest("view must be \"public\" or \"detail\"")
        }
        var payload = await self.routes.status.snapshot(now: Date()).payload(view: view)
        payload.watchdog = self.routes.watchdog?.report()
        return try Response.json(payload)
    }

    /// The detail view needs an operator key; with no keys configured, only a loopback peer gets it.
    private func authorizeDetail(_ request: Request, context: AppRequestContext) throws {
        if self.policy.isEnforced {
            guard let presented = APIKeyMiddleware<AppRequestContext>.bearerToken(request),
                self.policy.accepts(presented)
            else {
                throw ArcanosError(.unauthorized, "The detail view needs an operator key")
            }
            return
        }
        guard let address = context.remoteAddress?.ipAddress, APIKeyPolicy.isLoopback(address) else {
            // No key could help here: without configured keys only a loopback peer may see the detail.
            throw ArcanosError(.forbidden, "The detail view is only served to loopback clients when no keys are set")
        }
    }

    @Sendable
    func heal(_ request: Request, context: AppRequestContext) async throws -> Response {
        var request = request
        let body = try await request.collectBody(upTo: context.maxUploadSize)
        let healRequest = try HealRequest.decode(Data(buffer: body))
        let confirmation =
            context.confirmation.map(HealConfirmation.init)
            ?? HealConfirmation(status: "none", gptId: nil, trustedAutomation: false)
        let caller = HealAuditRecord.Caller(
            principal: Self.principal(request, context: context, policy: self.policy),
            confirmation: confirmation
        )
        let response = try await self.routes.heal.heal(healRequest, caller: caller)
        return try Response.json(response)
    }

    struct HealsPage: Encodable {
        var heals: [HealAuditRecord]
        /// The `before` of the next page; null on the last one.
        var nextBefore: Int64?
        var limit: Int

        enum CodingKeys: String, CodingKey { case heals, nextBefore, limit }

        func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(self.heals, forKey: .heals)
            try container.encode(self.nextBefore, forKey: .nextBefore)
            try container.encode(self.limit, forKey: .limit)
        }
    }

    @Sendable
    func heals(_ request: Request, context: AppRequestContext) async throws -> Response {
        let parameters = request.uri.queryParameters
        var limit = HealAuditPage.defaultLimit
        if let text = parameters["limit"] {
            guard let value = Int(text), (1...HealAuditPage.maximumLimit).contains(value) else {
                throw ArcanosError.invalidRequest("limit must be an integer from 1 to \(HealAuditPage.maximumLimit)")
            }
            limit = value
        }
        var before: Int64?
        if let text = parameters["before"] {
            guard let value = Int64(text), (1...HealAuditPage.maximumCursor).contains(value) else {
                throw ArcanosError.invalidRequest("before must be a positive integer (a nextBefore value)")
            }
            before = value
        }
        let page = try await self.routes.audit.list(limit: limit, before: before)
        return try Response.json(
            HealsPage(heals: page.heals, nextBefore: page.nextBefore, limit: limit)
        )
    }

    /// A secret-free name for the caller, also its rate-limit key: which operator key it used (by position),
    /// else the trusted GPT id or the automation secret the gate accepted, else its address.
    static func principal(_ request: Request, context: AppRequestContext, policy: APIKeyPolicy) -> String {
        if policy.isEnforced, let presented = APIKeyMiddleware<AppRequestContext>.bearerToken(request),
            let matched = policy.matchingKey(presented)
        {
            return "api-key:\(matched)"
        }
        switch context.confirmation?.status {
        case .trustedGPT?:
            if let gptID = context.confirmation?.gptID { return "gpt:\(gptID)" }
        case .automationSecret?, .oneTimeToken?:
            return "automation"
        default:
            break
        }
        if let address = context.remoteAddress?.ipAddress { return "address:\(address)" }
        return "anonymous"
    }
}
