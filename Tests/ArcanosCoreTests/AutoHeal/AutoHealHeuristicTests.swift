import ArcanosCore
import Foundation
import Testing

@Suite struct AutoHealHeuristicTests {
    /// A healthy system: 4 of 4 workers, a configured model with closed breakers.
    static let healthy = HealthSignals(
        poolEnabled: true,
        poolStarted: true,
        configuredWorkers: 4,
        activeWorkers: 4,
        modelConfigured: true,
        models: ["gpt-4o", "gpt-4o-mini"],
        selfTestFailed: false,
        selfTestStale: false,
        errorRateRising: false,
        queueDepth: 0
    )

    struct Row: Sendable, CustomTestStringConvertible {
        var name: String
        var change: @Sendable (inout HealthSignals) -> Void
        var severity: HealSeverity
        var action: RecoveryAction
        var findings: Set<AutoHealHeuristic.Finding.Code>
        var testDescription: String { self.name }
    }

    static let table: [Row] = [
        Row(name: "healthy", change: { _ in }, severity: .ok, action: .monitor, findings: []),
        Row(
            name: "a broken module definition",
            change: { $0.failingModules = [.init(id: "broken", reason: "invalid JSON")] },
            severity: .critical,
            action: .escalate,
            findings: [.failingModules]
        ),
        Row(
            name: "a dead worker",
            change: {
                $0.activeWorkers = 3; $0.deadWorkers = ["arcanos-worker-2"]
            },
            severity: .critical,
            action: .restartWorkers,
            findings: [.deadWorkers]
        ),
        Row(
            name: "a hung worker",
            change: { $0.hungWorkers = ["arcanos-worker-1"] },
            severity: .critical,
            action: .restartWorkers,
            findings: [.hungWorkers]
        ),
        Row(
            name: "pool not started",
            change: {
                $0.poolStarted = false; $0.activeWorkers = 0
            },
            severity: .critical,
            action: .restartWorkers,
            findings: [.poolDown]
        ),
        Row(
            name: "pool started with no active worker",
            change: {
                $0.activeWorkers = 0; $0.deadWorkers = (1...4).map { "arcanos-worker-\($0)" }
            },
            severity: .critical,
            action: .restartWorkers,
            findings: [.poolDown]
        ),
        Row(
            name: "issue 16: storm guard tripped: restart on probation, the guard still armed",
            change: {
                $0.stormGuardTripped = true; $0.activeWorkers = 0
            },
            severity: .critical,
            action: .restartWorkers,
            findings: [.stormGuard, .poolDown]
        ),
        Row(
            name: "broken module and dead worker: the restart fixes what it can",
            change: {
                $0.failingModules = [.init(id: "broken", reason: "invalid JSON")]
                $0.activeWorkers = 3
                $0.deadWorkers = ["arcanos-worker-4"]
            },
            severity: .critical,
            action: .restartWorkers,
            findings: [.failingModules, .deadWorkers]
        ),
        Row(
            name: "pool disabled on purpose is not down",
            change: {
                $0.poolEnabled = false; $0.poolStarted = false; $0.activeWorkers = 0
            },
            severity: .ok,
            action: .monitor,
            findings: []
        ),
        Row(
            name: "pool disabled hides a storm guard and hung workers",
            change: {
                $0.poolEnabled = false; $0.stormGuardTripped = true; $0.hungWorkers = ["w"]
            },
            severity: .ok,
            action: .monitor,
            findings: []
        ),
        Row(
            name: "primary breaker open with a usable fallback",
            change: { $0.openBreakers = ["gpt-4o"] },
            severity: .warning,
            action: .fallbackModel,
            findings: [.breakerOpen]
        ),
        Row(
            name: "every breaker open",
            change: {
                $0.openBreakers = ["gpt-4o", "gpt-4o-mini"]; $0.degradedSince = Date()
            },
            severity: .warning,
            action: .escalate,
            findings: [.breakerOpen, .degradedAnswers]
        ),
        Row(
            name: "breaker open without a fallback model",
            change: {
                $0.models = ["gpt-4o"]; $0.openBreakers = ["gpt-4o"]
            },
            severity: .warning,
            action: .escalate,
            findings: [.breakerOpen]
        ),
        Row(
            name: "degraded answers with a fallback model",
            change: {
                $0.degradedSince = Date(); $0.degradedAnswers = 3
            },
            severity: .warning,
            action: .fallbackModel,
            findings: [.degradedAnswers]
        ),
        Row(
            name: "degraded answers without a fallback model",
            change: {
                $0.models = ["gpt-4o"]; $0.degradedSince = Date()
            },
            severity: .warning,
            action: .monitor,
            findings: [.degradedAnswers]
        ),
        Row(
            name: "no model configured",
            change: {
                $0.modelConfigured = false; $0.degradedSince = Date()
            },
            severity: .warning,
            action: .escalate,
            findings: [.modelNotConfigured]
        ),
        Row(
            name: "another replica's pool is down",
            change: {
                $0.replicaPoolsDown = ["b1"]; $0.deadReplicas = []
            },
            severity: .critical,
            action: .restartWorkers,
            findings: [.replicaPoolDown]
        ),
        Row(
            name: "a replica stopped heartbeating",
            change: {
                $0.deadReplicas = ["c2"]; $0.replicaPoolsDown = []
            },
            severity: .warning,
            action: .monitor,
            findings: [.replicaDead]
        ),
        Row(
            name: "self-test failed",
            change: { $0.selfTestFailed = true },
            severity: .warning,
            action: .monitor,
            findings: [.selfTestFailed]
        ),
        Row(
            name: "self-test stale",
            change: { $0.selfTestStale = true },
            severity: .warning,
            action: .monitor,
            findings: [.selfTestStale]
        ),
        Row(
            name: "no self-test reported is not a warning",
            change: {
                $0.selfTestFailed = nil; $0.selfTestStale = nil
            },
            severity: .ok,
            action: .monitor,
            findings: []
        ),
        Row(
            name: "error rate rising",
            change: { $0.errorRateRising = true },
            severity: .warning,
            action: .monitor,
            findings: [.errorRateRising]
        ),
        Row(
            name: "queue oldest task over a minute",
            change: {
                $0.queueDepth = 40; $0.queueOldestAgeSeconds = 61
            },
            severity: .warning,
            action: .restartWorkers,
            findings: [.queueBacklog]
        ),
        Row(
            name: "queue oldest task under a minute",
            change: {
                $0.queueDepth = 40; $0.queueOldestAgeSeconds = 59
            },
            severity: .ok,
            action: .monitor,
            findings: []
        ),
        Row(
            name: "queue aging while the pool is disabled is reported, not restarted",
            change: {
                $0.poolEnabled = false; $0.queueOldestAgeSeconds = 300
            },
            severity: .warning,
            action: .monitor,
            findings: [.queueBacklog]
        ),
        Row(
            name: "critical wins over warnings",
            change: {
                $0.hungWorkers = ["arcanos-worker-3"]; $0.openBreakers = ["gpt-4o"]; $0.selfTestFailed = true
            },
            severity: .critical,
            action: .restartWorkers,
            findings: [.hungWorkers, .breakerOpen, .selfTestFailed]
        ),
        Row(
            name: "a last error alone is not an incident",
            change: { $0.lastError = "timeout: model call exceeded its deadline" },
            severity: .ok,
            action: .monitor,
            findings: []
        ),
    ]

    @Test(arguments: Self.table)
    func assessesSignalCombinations(_ row: Row) {
        var signals = Self.healthy
        row.change(&signals)
        let assessment = AutoHealHeuristic().assess(signals)
        #expect(assessment.severity == row.severity)
        #expect(assessment.recommendedAction == row.action)
        #expect(Set(assessment.findings.map(\.code)) == row.findings)
        #expect(!assessment.steps.isEmpty)
        #expect(assessment.steps.count <= 10)
        #expect(assessment.steps.allSatisfy { $0.count <= 300 })
        #expect(assessment.message.count <= 500)
    }

    @Test func recommendsTheFirstFallbackModelWhoseBreakerIsClosed() {
        var signals = Self.healthy
        signals.models = ["a", "b", "c"]
        signals.openBreakers = ["a", "b"]
        let assessment = AutoHealHeuristic().assess(signals)
        #expect(assessment.recommendedAction == .fallbackModel)
        #expect(assessment.fallbackModel == "c")
    }

    @Test func stepsNameBrokenModulesAndTheHealCall() {
        var signals = Self.healthy
        signals.failingModules = [.init(id: "summarizer", reason: "kind must be prompt or command")]
        signals.deadWorkers = ["arcanos-worker-1"]
        signals.activeWorkers = 3
        let steps = AutoHealHeuristic().assess(signals).steps
        #expect(steps.contains { $0.contains("POST /workers/heal") })
        #expect(steps.contains { $0.contains("\"summarizer\"") && $0.contains("kind must be prompt or command") })
    }

    @Test func stepsStayBoundedWithManyFindings() {
        var signals = Self.healthy
        signals.failingModules = (1...20).map { .init(id: "m\($0)", reason: String(repeating: "x", count: 400)) }
        signals.hungWorkers = ["arcanos-worker-1"]
        signals.stormGuardTripped = true
        signals.openBreakers = ["gpt-4o"]
        signals.selfTestFailed = true
        signals.errorRateRising = true
        signals.queueOldestAgeSeconds = 1000
        let assessment = AutoHealHeuristic().assess(signals)
        #expect(assessment.steps.count <= 10)
        #expect(assessment.steps.allSatisfy { $0.count <= 300 })
    }

    @Test func queueAgeThresholdIsConfigurable() {
        var signals = Self.healthy
        signals.queueOldestAgeSeconds = 10
        let heuristic = AutoHealHeuristic(configuration: .init(queueAgeWarning: .seconds(5)))
        #expect(heuristic.assess(signals).severity == .warning)
    }

    @Test func summaryListsFailingWorkersAndTheLastError() {
        var signals = Self.healthy
        signals.failingModules = [.init(id: "broken", reason: "invalid JSON")]
        signals.deadWorkers = ["arcanos-worker-2"]
        signals.hungWorkers = ["arcanos-worker-3", "arcanos-worker-2"]
        signals.activeWorkers = 3
        signals.lastError = "timeout: task exceeded its deadline"
        let summary = AutoHealSummary(signals: signals, assessment: AutoHealHeuristic().assess(signals))
        #expect(summary.status == .critical)
        #expect(summary.failingWorkers == ["broken", "arcanos-worker-2", "arcanos-worker-3"])
        #expect(summary.lastError == "timeout: task exceeded its deadline")
        #expect(summary.recommendedAction == .restartWorkers)
        #expect(summary.message.contains("POST /workers/heal"))
    }

    @Test func healthySummaryEncodesNullLastError() throws {
        let summary = AutoHealSummary(signals: Self.healthy, assessment: AutoHealHeuristic().assess(Self.healthy))
        let json = String(decoding: try JSONEncoder().encode(summary), as: UTF8.self)
        #expect(json.contains(#""lastError":null"#))
        #expect(json.contains(#""status":"ok""#))
        #expect(json.contains(#""recommendedAction":"monitor""#))
    }
}
