import ArcanosApp
import ArcanosCore
import ArcanosHTTP
import ArcanosTesting
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import NIOCore
import Synchronization
import Testing

/// JSON log lines carry the request id that the response's `x-request-id` names, and nothing secret.
@Suite(.timeLimit(.minutes(1))) struct RequestLoggingTests {
    @Test func logLinesCarryTheResponsesRequestIDAndNoSecret() async throws {
        let lines = Mutex<[String]>([])
        let logger = Logger(label: "arcanos") { label in
            var handler = JSONLogHandler(label: label) { line in lines.withLock { $0.append(line) } }
            handler.logLevel = .info
            return RedactingLogHandler(handler)
        }
        let harness = RouterHarness(provider: nil, logger: logger) {
            $0.confirmation.automationSecret = "the-real-automation-secret"
        }
        let requestID = try await harness.makeApplication().test(.router) { client in
            let response = try await client.execute(
                uri: "/confirm/tokens",
                method: .post,
                headers: [HTTPField.Name("x-arcanos-automation")!: "a-wrong-secret-of-some-length"]
            )
            #expect(response.status == .forbidden)
            return try #require(response.headers[.requestID])
        }
        let logged = lines.withLock { $0 }
        let line = try #require(logged.first { $0.contains("confirmation token refused") })
        let object = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
        #expect(object["hb.request.id"] as? String == requestID)
        for line in logged {
            #expect(!line.contains("a-wrong-secret") && !line.contains("the-real-automation-secret"))
        }
    }
}
