import ArcanosCore
import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import NIOFoundationCompat

/// `POST /devops/self-test`: runs the self-test now (or joins the run in flight) and returns its summary.
/// Sits behind the confirmation gate; the body must be empty or `{}`.
struct DevOpsController {
    let selfTest: SelfTestPipeline

    /// Bodies are tiny; anything bigger is refused before it is read.
    static let maximumBodyBytes = 4096

    func addRoutes(to group: RouterGroup<AppRequestContext>) {
        group.post("self-test", use: self.runSelfTest)
    }

    @Sendable
    func runSelfTest(_ request: Request, context: AppRequestContext) async throws -> Response {
        var request = request
        let body = try await request.collectBody(upTo: Self.maximumBodyBytes)
        try SelfTestRunRequest.validate(Data(buffer: body))
        let summary = try await self.selfTest.run(triggeredBy: .api)
        context.logger.info(
            "self-test run on request",
            metadata: ["self_test.status": "\(summary.status.rawValue)", "self_test.fail": "\(summary.failCount)"]
        )
        return try Response.json(summary)
    }
}
