import ArcanosTesting
import Foundation
import Logging
import Testing

@testable import ArcanosCore

@Suite(.timeLimit(.minutes(1))) struct RecoveryPlannerTests {
    static let critical = HealthSignals(
        configuredWorkers: 4,
        activeWorkers: 3,
        deadWorkers: ["arcanos-worker-2"],
        models: ["primary", "backup"]
    )
    static let warning = HealthSignals(
        configuredWorkers: 4,
        activeWorkers: 4,
        models: ["primary", "backup"],
        selfTestFailed: true
    )
    static let healthy = HealthSignals(configuredWorkers: 4, activeWorkers: 4, models: ["primary", "backup"])
    let now = Date(timeIntervalSince1970: 1_800_000_000)

    func makePlanner(
        _ provider: ScriptedLLMProvider?,
        deadline: Duration = .seconds(5),
        aiEnabled: Bool = true,
        threshold: Int = 5
    ) -> RecoveryPlanner {
        let logger = Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() })
        let client = ResilientLLMClient(
            provider: provider,
            configuration: .init(
                models: ["primary", "backup"],
                callTimeout: .seconds(30),
                retry: .init(maxAttempts: 1),
                breaker: .init(failureThreshold: threshold, openDuration: .seconds(60))
            ),
            logger: logger
        )
        return RecoveryPlanner(
            client: client,
            configuration: .init(aiEnabled: aiEnabled, aiDeadline: deadline),
            logger: logger
        )
    }

    static func planJSON(
        planId: JSONValue = "model-plan-1",
        severity: JSONValue = "critical",
        action: JSONValue = "restart-workers",
        message: JSONValue = "Worker 2 died; restart the pool.",
        steps: JSONValue = ["Restart the pool", "Verify the status"],
        fallbackModel: JSONValue = nil,
        extra: [String: JSONValue] = [:]
    ) -> String {
        var object: [String: JSONValue] = [
            "planId": planId, "severity": severity, "recommendedAction": action, "message": message,
            "steps": steps, "fallbackModel": fallbackModel,
        ]
        object.merge(extra) { _, new in new }
        return String(decoding: try! JSONEncoder().encode(JSONValue.object(object)), as: UTF8.self)
    }

    @Test func usesAValidModelPlanWithAFreshServerSidePlanId() async throws {
        let provider = ScriptedLLMProvider([.answer(Self.planJSON())])
        let result = await self.makePlanner(provider).plan(for: Self.critical, now: self.now)
        #expect(result.ai == .used)
        #expect(result.plan.source == .ai)
        #expect(result.plan.steps == ["Restart the pool", "Verify the status"])
        #expect(result.plan.message == "Worker 2 died; restart the pool.")
        #expect(result.plan.planId != "model-plan-1")
        #expect(UUID(uuidString: result.plan.planId) != nil)
        #expect(result.plan.generatedAt == self.now)
    }

    @Test func asksInAStrictJSONSchemaWithEveryPropertyRequired() async throws {
        let provider = ScriptedLLMProvider([.answer(Self.planJSON())])
        _ = await self.makePlanner(provider).plan(for: Self.critical, now: self.now)
        let request = try #require(provider.requests.first)
        guard case .jsonSchema(let name, let schema, let strict) = request.responseFormat else {
            Issue.record("not a json_schema request")
            return
        }
        #expect(name == RecoveryPlanner.schemaName)
        #expect(strict)
        #expect(schema["additionalProperties"] == false)
        guard case .object(let properties)? = schema["properties"], case .array(let required)? = schema["required"]
        else {
            Issue.record("schema has no properties or required")
            return
        }
        #expect(Set(required.compactMap(\.stringValue)) == Set(properties.keys))
        #expect(properties["fallbackModel"]?["type"] == ["string", "null"])
        #expect(
            properties["recommendedAction"]?["enum"] == ["monitor", "restart-workers", "fallback-model", "escalate"]
        )
    }

    @Test func twoPlansNeverShareAnIdEvenWhenTheModelRepeatsItself() async {
        let provider = ScriptedLLMProvider(whenEmpty: .answer(Self.planJSON(planId: "same")))
        let planner = self.makePlanner(provider)
        let first = await planner.plan(for: Self.critical, now: self.now)
        let second = await planner.plan(for: Self.critical, now: self.now)
        #expect(first.plan.source == .ai && second.plan.source == .ai)
        #expect(first.plan.planId != second.plan.planId)
    }

    @Test func doesNotAskTheModelWhenEverythingIsOK() async {
        let provider = ScriptedLLMProvider([.answer(Self.planJSON())])
        let result = await self.makePlanner(provider).plan(for: Self.healthy, now: self.now)
        #expect(result.ai == .notNeeded)
        #expect(result.plan.source == .heuristic)
        #expect(result.plan.severity == .ok)
        #expect(provider.requests.isEmpty)
    }

    @Test func doesNotAskTheModelWhenDisabledOrNotConfigured() async {
        let provider = ScriptedLLMProvider([.answer(Self.planJSON())])
        #expect(
            await self.makePlanner(provider, aiEnabled: false).plan(for: Self.critical, now: self.now).ai == .disabled
        )
        #expect(await self.makePlanner(nil).plan(for: Self.critical, now: self.now).ai == .notConfigured)
        #expect(provider.requests.isEmpty)
    }

    @Test func anOpenBreakerYieldsTheHeuristicWithoutACall() async {
        let provider = ScriptedLLMProvider(whenEmpty: .fail(LLMFailure(.serverError, statusCode: 500)))
        let planner = self.makePlanner(provider, threshold: 1)
        #expect(await planner.plan(for: Self.critical, now: self.now).ai == .failed)  // opens both breakers
        let calls = provider.requests.count
        let result = await planner.plan(for: Self.critical, now: self.now)
        #expect(result.ai == .circuitOpen)
        #expect(result.plan.source == .heuristic)
        #expect(provider.requests.count == calls)
    }

    @Test func aFailingModelYieldsTheHeuristicPlan() async {
        let provider = ScriptedLLMProvider(whenEmpty: .fail(LLMFailure(.serverError, statusCode: 500)))
        let result = await self.makePlanner(provider).plan(for: Self.critical, now: self.now)
        #expect(result.ai == .failed)
        #expect(result.plan.source == .heuristic)
        #expect(result.plan.recommendedAction == .restartWorkers)
        #expect(result.plan.severity == .critical)
    }

    @Test func aHangingModelYieldsTheHeuristicPlanAtTheDeadline() async {
        let provider = ScriptedLLMProvider([.hang])
        let start = ContinuousClock.now
        let result = await self.makePlanner(provider, deadline: .milliseconds(200)).plan(
            for: Self.critical,
            now: self.now
        )
        let elapsed = start.duration(to: .now)
        #expect(result.ai == .timeout)
        #expect(result.plan.source == .heuristic)
        #expect(elapsed >= .milliseconds(200))
        // Far below the 30 s the other timeout allows, with room for a loaded machine running every suite.
        #expect(elapsed < .seconds(10))
    }

    struct InvalidRow: Sendable, CustomTestStringConvertible {
        var name: String
        var content: String
        var testDescription: String { self.name }
    }

    static let invalidAnswers: [InvalidRow] = [
        .init(name: "not JSON", content: "<html>definitely not json"),
        .init(name: "a JSON array", content: "[]"),
        .init(name: "fenced JSON", content: "```json\n" + planJSON() + "\n```"),
        .init(name: "action outside the enum", content: planJSON(action: "reboot-host")),
        .init(name: "severity outside the enum", content: planJSON(severity: "catastrophic")),
        .init(name: "eleven steps", content: planJSON(steps: .array((1...11).map { .string("step \($0)") }))),
        .init(name: "no steps", content: planJSON(steps: [])),
        .init(
            name: "a step of 301 characters",
            content: planJSON(steps: [.string(String(repeating: "a", count: 301))])
        ),
        .init(name: "an empty step", content: planJSON(steps: ["  "])),
        .init(name: "a step that is a number", content: planJSON(steps: [1])),
        .init(name: "steps as a string", content: planJSON(steps: "restart")),
        .init(name: "an empty message", content: planJSON(message: "")),
        .init(
            name: "a message of 501 characters",
            content: planJSON(message: .string(String(repeating: "m", count: 501)))
        ),
        .init(name: "an unknown fallback model", content: planJSON(fallbackModel: "gpt-9-ultra")),
        .init(name: "fallbackModel as a number", content: planJSON(fallbackModel: 4)),
        .init(name: "planId not a string", content: planJSON(planId: 7)),
        .init(
            name: "a missing property",
            content: #"{"planId":"x","severity":"critical","recommendedAction":"monitor","message":"m","steps":["s"]}"#
        ),
    ]

    /// Issue 11: servers that do not enforce `strict` add fields; the plan is used with the extras dropped.
    @Test("issue 11: a plan with extra fields is used, the extras dropped")
    func extraFieldsAreDroppedAndThePlanUsed() async {
        let content = Self.planJSON(extra: ["shell": "rm -rf /", "confidence": .number(0.9)])
        let provider = ScriptedLLMProvider([.answer(content)])
        let result = await self.makePlanner(provider).plan(for: Self.critical, now: self.now)
        #expect(result.ai == .used)
        #expect(result.plan.source == .ai)
        #expect(result.plan.steps == ["Restart the pool", "Verify the status"])
        let validated = RecoveryPlanner.validate(
            content,
            heuristic: self.makePlanner(nil).heuristic.assess(Self.critical),
            signals: Self.critical
        )
        #expect((try? validated.get())?.droppedFields == ["confidence", "shell"])
    }

    @Test(arguments: Self.invalidAnswers)
    func anInvalidModelPlanYieldsTheHeuristicPlan(_ row: InvalidRow) async {
        let provider = ScriptedLLMProvider([.answer(row.content)])
        let result = await self.makePlanner(provider).plan(for: Self.critical, now: self.now)
        #expect(result.ai == .invalid)
        #expect(result.plan.source == .heuristic)
        #expect(result.plan.recommendedAction == .restartWorkers)
        #expect(result.aiDetail != nil)
        #expect(!(result.aiDetail ?? "").contains("rm -rf"))
    }

    @Test func theModelCannotLowerTheSeverityButMayRaiseIt() async {
        let lowered = ScriptedLLMProvider([.answer(Self.planJSON(severity: "ok", action: "monitor"))])
        let loweredResult = await self.makePlanner(lowered).plan(for: Self.critical, now: self.now)
        #expect(loweredResult.plan.source == .ai)
        #expect(loweredResult.plan.severity == .critical)

        let raised = ScriptedLLMProvider([.answer(Self.planJSON(severity: "critical", action: "escalate"))])
        let raisedResult = await self.makePlanner(raised).plan(for: Self.warning, now: self.now)
        #expect(raisedResult.plan.severity == .critical)
        #expect(raisedResult.plan.recommendedAction == .escalate)
    }

    @Test func restartIsNotAValidModelActionWhileThePoolIsDisabled() async {
        var signals = Self.warning
        signals.poolEnabled = false
        let provider = ScriptedLLMProvider([.answer(Self.planJSON(severity: "warning", action: "restart-workers"))])
        let result = await self.makePlanner(provider).plan(for: signals, now: self.now)
        #expect(result.ai == .invalid)
    }

    @Test func acceptsAConfiguredFallbackModel() async {
        let provider = ScriptedLLMProvider([.answer(Self.planJSON(action: "fallback-model", fallbackModel: "backup"))])
        let result = await self.makePlanner(provider).plan(for: Self.warning, now: self.now)
        #expect(result.plan.source == .ai)
        #expect(result.plan.fallbackModel == "backup")
    }

    @Test func theModelSeesSignalsButNoPromptText() async throws {
        var signals = Self.critical
        signals.lastError = "timeout"
        let provider = ScriptedLLMProvider([.answer(Self.planJSON())])
        _ = await self.makePlanner(provider).plan(for: signals, now: self.now)
        let user = try #require(provider.requests.first?.messages.last)
        #expect(user.role == .user)
        #expect(user.content.contains("arcanos-worker-2"))
        #expect(user.content.contains("\"assessment\""))
    }
}
