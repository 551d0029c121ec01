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

    struct Health: ResponseEncodable {
        var status = "ok"
        var uptimeSeconds: Double
    }

    struct Readiness: ResponseEncodable {
        var status: String
        var reasons: [String]
        var error: String?
    }

    @Sendable
    func health(_ request: Request, context: AppRequestContext) async throws -> Health {
        Health(uptimeSeconds: (Date().timeIntervalSince(self.startedAt) * 1000).rounded() / 1000)
    }

    @Sendable
    func ready(_ request: Request, context: AppRequestContext) async throws -> EditedResponse<Readiness> {
        var reasons: [String] = []
        for component in self.readiness {
            reasons += await component.notReadyReasons()
        }
        if reasons.isEmpty {
            return EditedResponse(
                status: .ok,
                headers: [.cacheControl: "no-store"],
                response: .init(status: "ready", reasons: [])
            )
        }
        return EditedResponse(
            status: .serviceUnavailable,
            headers: [.cacheControl: "no-store"],
            response: .init(status: "not_ready", reasons: reasons, error: ArcanosError.Code.notReady.rawValue)
        )
    }
}
