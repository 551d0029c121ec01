import ArcanosCore
import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import NIOFoundationCompat

/// Keeps AI routes answering: any model failure below it — thrown by `AIHealthCheckMiddleware` or by the
/// route — becomes the degraded answer of `AskService` (HTTP 503, `Retry-After`,
/// `x-arcanos-degraded-reason`). It parses and validates the prompt first, so that bad input is still a
/// 400 and the degraded answer can be served from the cache of the same prompt.
public struct AIFallbackMiddleware: RouterMiddleware {
    public typealias Context = AppRequestContext

    let askService: AskService

    public init(askService: AskService) {
        self.askService = askService
    }

    public func handle(
        _ request: Request,
        context: Context,
        next: (Request, Context) async throws -> Response
    ) async throws -> Response {
        var request = request
        var context = context
        let input = try await AskRequest.input(from: &request, context: context)
        context.askInput = input
        do {
            return try await next(request, context)
        } catch {
            guard let failure = LLMFailure(from: error) else { throw error }
            let answer = self.askService.degradedAnswer(prompt: input.prompt, failure: failure, now: Date())
            // Debug only: under an open breaker this runs for every request; counts go to the stats.
            context.logger.debug(
                "answered degraded",
                metadata: ["degraded.mode": "\(answer.fallbackMode.rawValue)", "degraded.reason": "\(answer.reason)"]
            )
            return Self.response(for: answer)
        }
    }

    static func response(for answer: DegradedAnswer) -> Response {
        Response.json(
            bytes: ByteBuffer(bytes: answer.json),
            status: .serviceUnavailable,
            headers: [
                .retryAfter: String(ArcanosError.retryAfterSeconds(answer.retryAfter)),
                .arcanosDegradedReason: answer.reason,
            ]
        )
    }
}

/// Fails AI routes fast, before any upstream wait: when no model is configured and degraded mode is
/// preemptive (`FALLBACK_PREEMPTIVE`, or a strict `ARCANOS_ENV`), and whenever every model's breaker is open.
public struct AIHealthCheckMiddleware<Context: RequestContext>: RouterMiddleware {
    let client: ResilientLLMClient
    let preemptive: Bool

    public init(client: ResilientLLMClient, preemptive: Bool) {
        self.client = client
        self.preemptive = preemptive
    }

    public func handle(
        _ request: Request,
        context: Context,
        next: (Request, Context) async throws -> Response
    ) async throws -> Response {
        switch self.client.availability() {
        case .available:
            break
        case .notConfigured:
            if self.preemptive {
                throw ArcanosError(.llmUnavailable, "No model is configured", underlying: LLMFailure(.notConfigured))
            }
        case .circuitOpen(let retryAfter):
            throw ArcanosError(
                .circuitOpen,
                "The model is temporarily disabled after repeated failures",
                retryAfter: retryAfter,
                underlying: LLMFailure(.circuitOpen, retryAfter: retryAfter)
            )
        }
        return try await next(request, context)
    }
}

extension HTTPField.Name {
    public static let arcanosDegradedReason = Self("x-arcanos-degraded-reason")!
}
