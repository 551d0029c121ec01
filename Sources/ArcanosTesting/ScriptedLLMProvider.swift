import ArcanosCore
import Foundation
import Synchronization

/// An in-process `LLMProvider` that plays back queued outcomes, for unit tests that need no sockets.
public final class ScriptedLLMProvider: LLMProvider {
    public enum Step: Sendable {
        case answer(String)
        case fail(LLMFailure)
        /// Suspends until the calling task is cancelled.
        case hang
    }

    private struct State {
        var script: [Step] = []
        var whenEmpty: Step
        var requests: [LLMRequest] = []
    }

    private let state: Mutex<State>
    private let callsContinuation: AsyncStream<LLMRequest>.Continuation
    /// Every request, as it arrives: tests wait on this instead of sleeping.
    public let calls: AsyncStream<LLMRequest>

    public init(_ script: [Step] = [], whenEmpty: Step = .answer("scripted answer")) {
        self.state = Mutex(State(script: script, whenEmpty: whenEmpty))
        (self.calls, self.callsContinuation) = AsyncStream.makeStream(of: LLMRequest.self)
    }

    public func enqueue(_ steps: Step...) {
        self.state.withLock { $0.script.append(contentsOf: steps) }
    }

    public var requests: [LLMRequest] { self.state.withLock { $0.requests } }

    public func complete(_ request: LLMRequest, timeout: Duration) async throws -> LLMCompletion {
        let step = self.state.withLock { state in
            state.requests.append(request)
            return state.script.isEmpty ? state.whenEmpty : state.script.removeFirst()
        }
        self.callsContinuation.yield(request)
        switch step {
        case .answer(let text):
            return LLMCompletion(
                id: "scripted-\(UUID().uuidString)",
                model: request.model,
                created: Date(),
                content: text
            )
        case .fail(let failure):
            throw failure
        case .hang:
            while true { try await Task.sleep(for: .seconds(3600)) }
        }
    }
}
