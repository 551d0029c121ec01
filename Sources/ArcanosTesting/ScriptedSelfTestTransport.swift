import ArcanosCore
import Foundation
import Synchronization

/// A `SelfTestTransport` that answers from a closure and remembers every request, for self-test tests
/// without sockets. `answerHealthy` and `answerDegraded` build the bodies `/ask` sends.
public final class ScriptedSelfTestTransport: SelfTestTransport {
    public typealias Handler = @Sendable (SelfTestHTTPRequest) async throws -> SelfTestHTTPResponse

    private let handler: Mutex<Handler>
    private let recorded = Mutex<[SelfTestHTTPRequest]>([])

    public init(_ handler: @escaping Handler = { _ in ScriptedSelfTestTransport.answerHealthy() }) {
        self.handler = Mutex(handler)
    }

    /// Replaces how the transport answers from now on.
    public func answer(with handler: @escaping Handler) {
        self.handler.withLock { $0 = handler }
    }

    public var requests: [SelfTestHTTPRequest] { self.recorded.withLock { $0 } }

    public func post(_ request: SelfTestHTTPRequest) async throws -> SelfTestHTTPResponse {
        self.recorded.withLock { $0.append(request) }
        let handler = self.handler.withLock { $0 }
        return try await handler(request)
    }

    /// A 200 live answer from `model`.
    public static func answerHealthy(model: String = "mock-model") -> SelfTestHTTPResponse {
        let body =
            #"{"result":"I am online.","activeModel":"\#(model)","module":"arcanos-core","meta":{"id":"x","created":"2026-01-01T00:00:00.000Z"}}"#
        return SelfTestHTTPResponse(
            statusCode: 200,
            headers: ["content-type": "application/json"],
            body: Data(body.utf8)
        )
    }

    /// A 503 degraded answer for `reason`.
    public static func answerDegraded(reason: String = "server_error") -> SelfTestHTTPResponse {
        let body =
            #"{"status":"degraded","message":"The AI model is unavailable.","fallbackMode":"mock","reason":"\#(reason)","data":null,"timestamp":"2026-01-01T00:00:00.000Z"}"#
        return SelfTestHTTPResponse(
            statusCode: 503,
            headers: ["content-type": "application/json", "x-arcanos-degraded-reason": reason],
            body: Data(body.utf8)
        )
    }
}
