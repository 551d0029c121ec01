import ArcanosCore
import Foundation
import HTTPTypes
import Hummingbird
import NIOCore

/// `GET /metrics`: the Prometheus text format (DESIGN §11); `GET /metrics/history`: this server's own samples
/// over the last 15 minutes, for the dashboard's charts.
struct MetricsController {
    let exporter: PrometheusExporter

    func addRoutes(to router: some RouterMethods<AppRequestContext>) {
        router.get("/metrics", use: self.metrics)
        if let history = self.exporter.metrics.history {
            router.get("/metrics/history") { _, _ in try Response.json(history.snapshot(now: Date())) }
        }
    }

    @Sendable
    func metrics(_ request: Request, context: AppRequestContext) async throws -> Response {
        let text = await self.exporter.exposition()
        return Response(
            status: .ok,
            headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8", .cacheControl: "no-store"],
            body: .init(byteBuffer: ByteBuffer(string: text))
        )
    }
}
