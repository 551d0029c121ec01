import ArcanosCore
import Foundation
import HTTPTypes
import Hummingbird
import Logging

/// `GET /health` (the process answers; touches nothing) and `GET /ready` (every component is ready).
struct HealthController {
    let readiness: [any ReadinessReporting]
    let startedAt: Date

    func addRoutes(to router: Router<AppRequestContext>) {
        router.get("/health", use: self.health)
        router.get("/ready", use: self.ready)
    }

    struct Health: Encodable {
        var status = "ok"
        var uptimeSeconds: Double
    }

    struct Readiness: Encodable {
        var status: String
        var reasons: [String]
        var error: String?
    }

    @Sendable
    func health(_ request: Request, context: AppRequestContext) async throws -> Response {
        try Response.json(Health(uptimeSeconds: (Date().timeIntervalSince(self.startedAt) * 1000).rounded() / 1000))
    }

    @Sendable
    func ready(_ request: Request, context: AppRequestContext) async throws -> Response {
        var reasons: [String] = []
        for component in self.readiness {
            reasons += await component.notReadyReasons()
        }
        if reasons.isEmpty {
            return try Response.json(Readiness(status: "ready", reasons: []))
        }
        return try Response.json(
            Readiness(status: "not_ready", reasons: reasons, error: ArcanosError.Code.notReady.rawValue),
            status: .serviceUnavailable
        )
    }
}
