import ArcanosCore
import ArcanosTesting
import Clocks
import Foundation
import Logging
import ServiceLifecycle
import ServiceLifecycleTestKit
import Synchronization
import Testing

@Suite(.timeLimit(.minutes(1))) struct SelfTestPipelineTests {
    static let start = Date(timeIntervalSince1970: 1_800_000_000)
    let logger = Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() })

    /// A settable wall clock.
    final class WallClock: Sendable {
        private let date = Mutex(SelfTestPipelineTests.start)
        var now: Date { self.date.withLock { $0 } }
        func advance(seconds: Double) { self.date.withLock { $0 = $0.addingTimeInterval(seconds) } }
    }

    struct Harness {
        let pipeline: SelfTestPipeline
        let transport: ScriptedSelfTestTransport
        let logStorage: InMemorySystemStateStorage
        let stateStorage: InMemorySystemStateStorage
        let clock: WallClock
    }

    func makeHarness(
        interval: Duration? = .seconds(300),
        prompts: [SelfTestPrompt] = SelfTestPrompt.defaults,
        log: String? = nil,
        transport: ScriptedSelfTestTransport = ScriptedSelfTestTransport(),
        apiKey: String? = nil
    ) -> Harness {
        let clock = WallClock()
        let logStorage = InMemorySystemStateStorage(contents: log)
        let stateStorage = InMemorySystemStateStorage()
        let state = SystemStateManager(storage: stateStorage, version: "test", logger: self.logger, now: { clock.now })
        let pipeline = SelfTestPipeline(
            configuration: .init(interval: interval, prompts: prompts, targetModel: "mock-model", apiKey: apiKey),
            transport: transport,
            healthLog: HealthCheckLog(storage: logStorage, logger: self.logger),
            record: SharedRecord(store: InMemorySharedStateStore(), state: state, logger: self.logger),
            logger: self.logger,
            now: { clock.now }
        )
        return Harness(
            pipeline: pipeline,
            transport: transport,
            logStorage: logStorage,
            stateStorage: stateStorage,
            clock: clock
        )
    }

    func object(_ text: String?) throws -> [String: JSONValue] {
        let value = try JSONDecoder().decode(JSONValue.self, from: Data(try #require(text).utf8))
        guard case .object(let object) = value else {
            Issue.record("not a JSON object")
            return [:]
        }
        return object
    }

    func history(_ storage: InMemorySystemStateStorage) throws -> [JSONValue] {
        guard case .array(let history)? = try self.object(storage.contents)["history"] else {
            Issue.record("no history array")
            return []
        }
        return history
    }

    // MARK: - Running and recording

    @Test func aHealthyServerPassesAndTheSummaryIsMirroredIntoTheStateFile() async throws {
        let harness = self.makeHarness()
        await harness.pipeline.serverRunning(host: "127.0.0.1", port: 8123)
        let summary = try await harness.pipeline.run(triggeredBy: .api)

        #expect(summary.status == .pass)
        #expect(summary.passCount == 3)
        #expect(summary.failCount == 0)
        #expect(summary.baseUrl == "http://127.0.0.1:8123")
        #expect(summary.targetModel == "mock-model")
        #expect(summary.triggeredBy == .api)
        #expect(summary.results.map(\.id) == ["readiness", "memory-context", "module-routing"])
        #expect(summary.results.allSatisfy { $0.statusCode == 200 && $0.activeModel == "mock-model" })
        #expect(harness.transport.requests.map(\.url) == Array(repeating: "http://127.0.0.1:8123/ask", count: 3))

        let state = try self.object(harness.stateStorage.contents)
        #expect(state["selfTest"]?["status"] == "pass")
        #expect(state["selfTest"]?["passCount"] == 3)
        #expect(state["selfTest"]?["triggeredBy"] == "api")
        #expect(state["selfTest"]?["baseUrl"] == "http://127.0.0.1:8123")
        #expect(state["selfTest"]?["lastRun"] == "2027-01-15T08:00:00.000Z")
        #expect(state["status"] == "running", "the state manager's defaults stay")
        let history = try self.history(harness.logStorage)
        #expect(history.count == 3)
        #expect(history.first?["success"] == true)
        #expect(history.first?["expectation"] != nil)
        #expect(history.first?["latencyMs"] != nil)
    }

    @Test func aDegradedAnswerFailsAndTheFailureIsMirrored() async throws {
        let transport = ScriptedSelfTestTransport { _ in
            ScriptedSelfTestTransport.answerDegraded(reason: "server_error")
        }
        let harness = self.makeHarness(transport: transport)
        await harness.pipeline.serverRunning(host: "127.0.0.1", port: 8123)
        let summary = try await harness.pipeline.run(triggeredBy: .interval)

        #expect(summary.status == .fail)
        #expect(summary.failCount == 3)
        #expect(
            summary.results.allSatisfy {
                $0.statusCode == 503 && $0.message == "degraded answer (reason: server_error)"
            }
        )
        #expect(summary.results.allSatisfy { $0.activeModel == nil })
        let state = try self.object(harness.stateStorage.contents)
        #expect(state["selfTest"]?["status"] == "fail")
        #expect(state["selfTest"]?["failCount"] == 3)
        #expect(await harness.pipeline.signals().failed == true)
    }

    @Test func oneFailingPromptFailsTheRun() async throws {
        let transport = ScriptedSelfTestTransport { request in
            let body = String(decoding: request.body, as: UTF8.self)
            if body.contains("module-routing") { throw SelfTestTransportError.timeout(.seconds(30)) }
            return ScriptedSelfTestTransport.answerHealthy()
        }
        let harness = self.makeHarness(transport: transport)
        await harness.pipeline.serverRunning(host: "127.0.0.1", port: 1)
        let summary = try await harness.pipeline.run(triggeredBy: .api)
        #expect(summary.status == .fail)
        #expect(summary.passCount == 2)
        let failed = try #require(summary.results.last)
        #expect(failed.statusCode == nil)
        #expect(failed.message == "no answer within 30000 ms")
    }

    @Test func theOperatorKeyIsSentAndTheConfiguredBaseURLWins() async throws {
        let transport = ScriptedSelfTestTransport()
        let clock = WallClock()
        let pipeline = SelfTestPipeline(
            configuration: .init(prompts: [SelfTestPrompt.defaults[0]], baseURL: "http://internal:9000/", apiKey: "k1"),
            transport: transport,
            healthLog: nil,
            record: nil,
            logger: self.logger,
            now: { clock.now }
        )
        await pipeline.serverRunning(host: "0.0.0.0", port: 8080)
        _ = try await pipeline.run(triggeredBy: .cli)
        let request = try #require(transport.requests.first)
        #expect(request.url == "http://internal:9000/ask")
        #expect(request.headers["authorization"] == "Bearer k1")
        #expect(request.timeout == .seconds(30))
        #expect(request.maximumResponseBytes == 256 * 1024)
    }

    @Test(arguments: [
        ("0.0.0.0", "http://127.0.0.1:80"), ("::", "http://[::1]:80"), ("127.0.0.1", "http://127.0.0.1:80"),
        ("::1", "http://[::1]:80"), ("localhost", "http://localhost:80"),
    ])
    func aWildcardAddressIsProbedOnLoopback(host: String, expected: String) async throws {
        let pipeline = SelfTestPipeline(
            configuration: .init(),
            transport: ScriptedSelfTestTransport(),
            healthLog: nil,
            record: nil,
            logger: self.logger
        )
        await pipeline.serverRunning(host: host, port: 80)
        #expect(await pipeline.baseURL == expected)
    }

    @Test func beforeTheServerListensARunIsNotReady() async throws {
        let harness = self.makeHarness()
        await #expect(throws: ArcanosError.self) { try await harness.pipeline.run(triggeredBy: .interval) }
        #expect(harness.transport.requests.isEmpty)
    }

    @Test func aRunRequestedWhileOneIsInFlightJoinsIt() async throws {
        // The transport holds every request until the test releases it.
        let (arrivals, arrived) = AsyncStream.makeStream(of: Void.self)
        let release = Mutex<[CheckedContinuation<Void, Never>]>([])
        let transport = ScriptedSelfTestTransport { _ in
            await withCheckedContinuation { continuation in
                release.withLock { $0.append(continuation) }
                arrived.yield()
            }
            return ScriptedSelfTestTransport.answerHealthy()
        }
        let harness = self.makeHarness(prompts: [SelfTestPrompt.defaults[0]], transport: transport)
        await harness.pipeline.serverRunning(host: "127.0.0.1", port: 1)
        let first = Task { try await harness.pipeline.run(triggeredBy: .interval) }
        var iterator = arrivals.makeAsyncIterator()
        await iterator.next()  // the first run is in flight, waiting on the transport
        #expect(await harness.pipeline.isRunning)
        let second = Task { try await harness.pipeline.run(triggeredBy: .api) }
        let third = Task { try await harness.pipeline.run(triggeredBy: .api) }
        // Let the joiners reach the actor before releasing.
        while await harness.pipeline.joinedCallers < 2, !Task.isCancelled { await Task.yield() }
        release.withLock { $0.forEach { $0.resume() } }

        let summaries = try await [first.value, second.value, third.value]
        #expect(transport.requests.count == 1, "one probe for three callers")
        #expect(Set(summaries.map(\.triggeredBy)) == [.interval])
        #expect(Set(summaries.map(\.completedAt)).count == 1)
        #expect(try self.history(harness.logStorage).count == 1)
    }

    @Test func completionsAreStreamedToSubscribers() async throws {
        let harness = self.makeHarness(prompts: [SelfTestPrompt.defaults[0]])
        await harness.pipeline.serverRunning(host: "127.0.0.1", port: 1)
        let stream = await harness.pipeline.completions()
        _ = try await harness.pipeline.run(triggeredBy: .api)
        harness.transport.answer { _ in ScriptedSelfTestTransport.answerDegraded() }
        _ = try await harness.pipeline.run(triggeredBy: .api)
        var iterator = stream.makeAsyncIterator()
        #expect(await iterator.next()?.status == .pass)
        #expect(await iterator.next()?.status == .fail)
    }

    // MARK: - The health check log

    @Test func theLogKeepsTheLast20EntriesOfAFileSeededWith60() async throws {
        let seeded = (1...60).map { #"{"id":"seed-\#($0)","success":true}"# }.joined(separator: ",")
        let harness = self.makeHarness(log: #"{"updatedAt":"2020-01-01T00:00:00.000Z","history":[\#(seeded)]}"#)
        await harness.pipeline.serverRunning(host: "127.0.0.1", port: 1)
        _ = try await harness.pipeline.run(triggeredBy: .api)

        let history = try self.history(harness.logStorage)
        #expect(history.count == 20)
        // The 17 newest seeded entries, oldest first, then this run's three results.
        #expect(history.prefix(17).map { $0["id"] } == (44...60).map { .string("seed-\($0)") })
        #expect(history.suffix(3).map { $0["id"] } == ["readiness", "memory-context", "module-routing"])
        #expect(try self.object(harness.logStorage.contents)["updatedAt"] == "2027-01-15T08:00:00.000Z")
        #expect(harness.logStorage.quarantined.isEmpty)
    }

    @Test func theLogStaysBoundedOverManyRuns() async throws {
        let harness = self.makeHarness()
        await harness.pipeline.serverRunning(host: "127.0.0.1", port: 1)
        for _ in 0..<10 {
            _ = try await harness.pipeline.run(triggeredBy: .interval)
        }
        #expect(try self.history(harness.logStorage).count == 20)
    }

    @Test(arguments: ["{not json", "[1,2,3]", #"{"history":"nope"}"#, ""])
    func aCorruptLogIsMovedAsideAndRebuilt(contents: String) async throws {
        let harness = self.makeHarness(log: contents)
        await harness.pipeline.serverRunning(host: "127.0.0.1", port: 1)
        let summary = try await harness.pipeline.run(triggeredBy: .api)

        #expect(summary.status == .pass, "a broken log never fails the self-test")
        #expect(harness.logStorage.quarantined.count == 1)
        #expect(harness.logStorage.quarantined.values.first == Data(contents.utf8))
        let history = try self.history(harness.logStorage)
        #expect(history.map { $0["id"] } == ["readiness", "memory-context", "module-routing"])
    }

    // MARK: - Staleness and signals

    @Test func noRunInTwoIntervalsIsAStaleWarningForTheHeuristic() async throws {
        let harness = self.makeHarness(interval: .seconds(60))
        await harness.pipeline.serverRunning(host: "127.0.0.1", port: 1)
        #expect(await harness.pipeline.signals() == SelfTestSignals(failed: nil, stale: false))

        harness.clock.advance(seconds: 121)  // two intervals and a second since start, no run
        var signals = HealthSignals(modelConfigured: true)
        signals.apply(await harness.pipeline.signals())
        #expect(signals.selfTestStale == true)
        let assessment = AutoHealHeuristic().assess(signals)
        #expect(assessment.severity == .warning)
        #expect(assessment.findings.map(\.code) == [.selfTestStale])
        #expect(await harness.pipeline.report().stale == true)

        _ = try await harness.pipeline.run(triggeredBy: .interval)
        #expect(await harness.pipeline.signals() == SelfTestSignals(failed: false, stale: false))
        harness.clock.advance(seconds: 119)
        #expect(await harness.pipeline.signals().stale == false)
        harness.clock.advance(seconds: 2)
        #expect(await harness.pipeline.signals().stale == true)
    }

    @Test func anOffSelfTestIsNeverStale() async throws {
        let harness = self.makeHarness(interval: nil)
        harness.clock.advance(seconds: 86_400)
        #expect(await harness.pipeline.signals() == SelfTestSignals(failed: nil, stale: nil))
        let report = await harness.pipeline.report()
        #expect(report.enabled == false)
        #expect(report.stale == false)
    }

    @Test func aFailedRunIsAWarningForTheHeuristic() async throws {
        let transport = ScriptedSelfTestTransport { _ in ScriptedSelfTestTransport.answerDegraded() }
        let harness = self.makeHarness(transport: transport)
        await harness.pipeline.serverRunning(host: "127.0.0.1", port: 1)
        _ = try await harness.pipeline.run(triggeredBy: .interval)
        var signals = HealthSignals(modelConfigured: true)
        signals.apply(await harness.pipeline.signals())
        #expect(AutoHealHeuristic().assess(signals).findings.map(\.code) == [.selfTestFailed])
        let report = await harness.pipeline.report()
        #expect(report.status == .fail)
        #expect(report.failCount == 3)
    }

    // MARK: - The periodic service

    @Test func theServiceRunsOncePerJitteredIntervalAndStopsOnShutdown() async throws {
        let harness = self.makeHarness(interval: .seconds(60), prompts: [SelfTestPrompt.defaults[0]])
        await harness.pipeline.serverRunning(host: "127.0.0.1", port: 1)
        let clock = TestClock()
        // The largest jitter: every delay is 66 s.
        let service = SelfTestService(pipeline: harness.pipeline, clock: clock, logger: self.logger, random: { 1 })
        let completions = await harness.pipeline.completions()
        try await testGracefulShutdown { trigger in
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { try await service.run() }
                var iterator = completions.makeAsyncIterator()
                await clock.waitForSleeper()
                await clock.advance(by: .seconds(65))
                #expect(harness.transport.requests.isEmpty, "no run before the jittered interval")
                await clock.advance(by: .seconds(1))
                #expect(await iterator.next()?.triggeredBy == .interval)
                await clock.waitForSleeper()
                await clock.advance(by: .seconds(66))
                #expect(await iterator.next()?.status == .pass)
                #expect(harness.transport.requests.count == 2)
                // After a failed run the jitter only shortens the wait: 54 s here, never more than 60.
                harness.transport.answer { _ in ScriptedSelfTestTransport.answerDegraded() }
                await clock.waitForSleeper()
                await clock.advance(by: .seconds(66))
                #expect(await iterator.next()?.status == .fail)
                await clock.waitForSleeper()
                await clock.advance(by: .seconds(54))
                #expect(await iterator.next()?.status == .fail)
                #expect(harness.transport.requests.count == 4)
                trigger.triggerGracefulShutdown()
                try await group.waitForAll()
            }
        }
    }

    @Test func anOffServiceWaitsForShutdownWithoutRunning() async throws {
        let harness = self.makeHarness(interval: nil)
        let service = SelfTestService(pipeline: harness.pipeline, clock: TestClock(), logger: self.logger)
        try await testGracefulShutdown { trigger in
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { try await service.run() }
                trigger.triggerGracefulShutdown()
                try await group.waitForAll()
            }
        }
        #expect(harness.transport.requests.isEmpty)
    }
}
