import ArcanosCore
import ArcanosLLM
import ArcanosTesting
import AsyncHTTPClient
import Foundation
import Logging
import Testing

/// The recovery planner through the real HTTP provider against the fake OpenAI-compatible server.
@Suite(.timeLimit(.minutes(1))) struct RecoveryPlannerFakeServerTests {
    static let critical = HealthSignals(
        configuredWorkers: 4,
        activeWorkers: 3,
        deadWorkers: ["arcanos-worker-4"],
        models: ["mock-model"]
    )
    static let validPlan = """
        {"planId":"model-1","severity":"critical","recommendedAction":"restart-workers",\
        "message":"Worker 4 is down; restart the pool.","steps":["Restart the pool","Check the status"],\
        "fallbackModel":null}
        """

    func plan(
        mode: FakeOpenAIServer.Mode,
        structured: String = Self.validPlan,
        deadline: Duration = .seconds(5),
        callTimeout: Duration = .seconds(5)
    ) async throws -> (RecoveryPlanner.Result, Duration, Int) {
        let fake = FakeOpenAIServer(mode: mode)
        fake.structuredContent = structured
        return try await fake.withRunning { baseURL in
            let logger = Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() })
            let client = ResilientLLMClient(
                provider: OpenAIChatProvider(httpClient: .shared, configuration: .init(baseURL: baseURL, apiKey: "k")),
                configuration: .init(
                    models: ["mock-model"],
                    callTimeout: callTimeout,
                    retry: .init(maxAttempts: 2, baseDelay: .milliseconds(5), maxDelay: .milliseconds(10))
                ),
                logger: logger
            )
            let planner = RecoveryPlanner(client: client, configuration: .init(aiDeadline: deadline), logger: logger)
            let start = ContinuousClock.now
            let result = await planner.plan(for: Self.critical, now: Date())
            return (result, start.duration(to: .now), fake.requestCount)
        }
    }

    @Test func okServerGivesAnAIPlan() async throws {
        let (result, _, requests) = try await self.plan(mode: .ok)
        #expect(result.ai == .used)
        #expect(result.plan.source == .ai)
        #expect(result.plan.message == "Worker 4 is down; restart the pool.")
        #expect(result.plan.planId != "model-1")
        #expect(requests == 1)
    }

    @Test("issue 11: a plan with a field more than the schema, from a server that ignores strict, is used")
    func aPlanWithAnExtraFieldIsUsed() async throws {
        let structured = Self.validPlan.replacingOccurrences(
            of: #""fallbackModel":null}"#,
            with: #""fallbackModel":null,"reasoning":"the pool lost a worker"}"#
        )
        #expect(structured != Self.validPlan)
        let (result, _, requests) = try await self.plan(mode: .ok, structured: structured)
        #expect(result.ai == .used)
        #expect(result.plan.source == .ai)
        #expect(result.plan.message == "Worker 4 is down; restart the pool.")
        #expect(requests == 1)
    }

    @Test func aPlanMissingAFieldStillGivesTheHeuristic() async throws {
        let structured = Self.validPlan.replacingOccurrences(of: #","fallbackModel":null"#, with: "")
        #expect(structured != Self.validPlan)
        let (result, _, _) = try await self.plan(mode: .ok, structured: structured)
        #expect(result.ai == .invalid)
        #expect(result.plan.source == .heuristic)
    }

    @Test func okServerWithAnInvalidPlanGivesTheHeuristic() async throws {
        let tooMany = (1...11).map { "\"step \($0)\"" }.joined(separator: ",")
        let structured = Self.validPlan.replacingOccurrences(
            of: #"["Restart the pool","Check the status"]"#,
            with: "[\(tooMany)]"
        )
        let (result, _, _) = try await self.plan(mode: .ok, structured: structured)
        #expect(result.ai == .invalid)
        #expect(result.plan.source == .heuristic)
    }

    @Test(arguments: [FakeOpenAIServer.Mode.garbage, .wrongShape, .error500])
    func aBrokenServerGivesTheHeuristic(mode: FakeOpenAIServer.Mode) async throws {
        let (result, _, _) = try await self.plan(mode: mode)
        #expect(result.ai == .failed)
        #expect(result.plan.source == .heuristic)
        #expect(result.plan.severity == .critical)
        #expect(result.plan.recommendedAction == .restartWorkers)
    }

    @Test func aHangingServerGivesTheHeuristicWithinThePlannerDeadline() async throws {
        let (result, elapsed, _) = try await self.plan(
            mode: .hang,
            deadline: .milliseconds(300),
            callTimeout: .seconds(30)
        )
        #expect(result.ai == .timeout)
        #expect(result.plan.source == .heuristic)
        // Far below the 30 s the other timeout allows, with room for a loaded machine running every suite.
        #expect(elapsed < .seconds(10))
    }

    @Test func aHangingServerGivesTheHeuristicWithinTheModelTimeout() async throws {
        let (result, elapsed, _) = try await self.plan(
            mode: .hang,
            deadline: .seconds(30),
            callTimeout: .milliseconds(300)
        )
        #expect(result.ai == .timeout)
        #expect(result.plan.source == .heuristic)
        // Far below the 30 s the other timeout allows, with room for a loaded machine running every suite.
        #expect(elapsed < .seconds(10))
    }
}
