import ArcanosTesting
import Foundation
import ServiceLifecycle
import Testing

/// The fake model server as `arcanos mock-llm` runs it: in a ServiceGroup that stops on a signal.
@Suite(.timeLimit(.minutes(1))) struct FakeOpenAIServerTests {
    @Test func aHangingRequestDoesNotHoldUpAGracefulShutdown() async throws {
        let fake = FakeOpenAIServer(mode: .hang)
        let (ports, continuation) = AsyncStream.makeStream(of: Int.self)
        let application = fake.makeApplication(logger: quietLogger) { continuation.yield($0) }
        let group = ServiceGroup(configuration: .init(services: [application], logger: quietLogger))
        let running = Task { try await group.run() }
        var iterator = ports.makeAsyncIterator()
        let port = try #require(await iterator.next())

        let hanging = Task {
            try await post("http://127.0.0.1:\(port)/v1/chat/completions", json: #"{"messages":[]}"#)
        }
        // The request is held once the fake has counted it.
        try await Condition.wait("the fake holds the request", within: .seconds(10), every: .milliseconds(10)) {
            fake.requestCount > 0
        }
        let start = ContinuousClock.now
        await group.triggerGracefulShutdown()
        try await running.value
        #expect(start.duration(to: .now) < .seconds(10))
        hanging.cancel()
        _ = await hanging.result
    }
}
