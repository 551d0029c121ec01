import ArcanosCore
import ArcanosTesting
import Clocks
import Foundation
import Logging
import ServiceLifecycle
import ServiceLifecycleTestKit
import Synchronization
import Testing

@Suite struct MetricsHistoryTests {
    let start = Date(timeIntervalSince1970: 1_800_000_000)

    @Test func keepsFifteenMinutesOfPointsAtFiveSecondsOldestFirst() {
        #expect(MetricsHistory.Configuration().capacity == 180)
        #expect(MetricsHistory.Configuration(interval: .milliseconds(7000)).capacity == 129)
        var history = MetricsHistory(now: self.start)
        for tick in 1...200 {
            history.recordRequest(duration: .milliseconds(tick))
            history.close(now: self.start + Double(tick * 5), gauges: .init(queueDepth: tick))
        }
        let points = history.points(now: self.start + 1000)
        #expect(points.count == 180)
        // The 20 oldest were overwritten: 21…200, in order.
        #expect(points.map(\.queueDepth) == (21...200).map { $0 })
        #expect(points.first?.at == self.start + 105)
        #expect(points.last?.at == self.start + 1000)
    }

    @Test func pointsOlderThanTheWindowAreLeftOutAfterAPause() {
        var history = MetricsHistory(now: self.start)
        history.close(now: self.start + 5, gauges: .init())
        history.close(now: self.start + 10, gauges: .init())
        // No closing for 15 minutes (a suspended process): what is left is older than the window.
        #expect(history.points(now: self.start + 5 + 899).count == 2)
        #expect(history.points(now: self.start + 10 + 899).map(\.at) == [self.start + 10])
        #expect(history.points(now: self.start + 10 + 900).map(\.at) == [])
        history.close(now: self.start + 910, gauges: .init())
        #expect(history.points(now: self.start + 910).map(\.at) == [self.start + 910])
    }

    @Test func ratesAreOverTheMeasuredIntervalAndCountsResetAtEachClose() {
        var history = MetricsHistory(now: self.start)
        for _ in 0..<10 { history.recordRequest(duration: .milliseconds(3)) }
        for _ in 0..<4 { history.recordDegradedAnswer() }
        let first = history.close(
            now: self.start + 5,
            gauges: .init(breakers: ["gpt-x": .open, "backup": .halfOpen], queueDepth: 7)
        )
        #expect(first.requests == 10 && first.degraded == 4)
        #expect(first.requestsPerSecond == 2 && first.degradedPerSecond == 0.8)
        #expect(first.intervalMs == 5000)
        #expect(first.breakers == ["gpt-x": .open, "backup": .halfOpen])
        #expect(first.queueDepth == 7)
        // A late closing (20 s instead of 5) spreads its requests over the 20 s it covered.
        for _ in 0..<10 { history.recordRequest(duration: .milliseconds(3)) }
        let late = history.close(now: self.start + 25, gauges: .init())
        #expect(late.requests == 10 && late.degraded == 0)
        #expect(late.requestsPerSecond == 0.5 && late.intervalMs == 20_000)
        // An empty interval has rates of zero and no p99.
        let empty = history.close(now: self.start + 30, gauges: .init())
        #expect(empty.requests == 0 && empty.requestsPerSecond == 0 && empty.p99Ms == nil)
        // A wall clock set back counts the interval as configured instead of dividing by zero or less.
        history.recordRequest(duration: .milliseconds(1))
        let backwards = history.close(now: self.start + 29, gauges: .init())
        #expect(backwards.requestsPerSecond == 0.2)
    }

    @Test func p99IsTheNearestRankLatencyWithinOnePercent() throws {
        var history = MetricsHistory(now: self.start)
        for ms in 1...100 { history.recordRequest(duration: .milliseconds(ms)) }
        let hundred = try #require(history.close(now: self.start + 5, gauges: .init()).p99Ms)
        // Rank 99 of 100 is 99 ms.
        #expect(hundred >= 99 && hundred <= 99 * 1.01, "\(hundred)")

        // 989 fast and 11 slow: rank 990 is a slow one, reported as it was (never above the largest).
        for _ in 0..<989 { history.recordRequest(duration: .milliseconds(10)) }
        for _ in 0..<11 { history.recordRequest(duration: .milliseconds(500)) }
        #expect(history.close(now: self.start + 10, gauges: .init()).p99Ms == 500)
        // One slow request fewer and rank 990 is a fast one.
        for _ in 0..<990 { history.recordRequest(duration: .milliseconds(10)) }
        for _ in 0..<10 { history.recordRequest(duration: .milliseconds(500)) }
        let fast = try #require(history.close(now: self.start + 15, gauges: .init()).p99Ms)
        #expect(fast >= 10 && fast <= 10.1, "\(fast)")

        history.recordRequest(duration: .microseconds(250))
        #expect(history.close(now: self.start + 20, gauges: .init()).p99Ms == 0.25)
    }

    @Test func gaugesNameBreakersByPublicNameAndCountQueuedAndRunningJobs() {
        let client = ResilientLLMClient(
            provider: ScriptedLLMProvider(),
            configuration: .init(models: ["ft:secret-model", "backup"]),
            logger: Logger(label: "test")
        )
        let gauges = MetricsHistory.Gauges(
            report: client.report(),
            queue: JobQueueStats(depth: 3, oldestQueuedAgeSeconds: 1, inFlight: 2, expiredLeases: 1),
            modelNames: PublicModelNames(credentials: ["ft:secret-model"])
        )
        #expect(gauges.breakers == ["trusted-model-1": .closed, "backup": .closed])
        #expect(gauges.queueDepth == 6)
        let unread = MetricsHistory.Gauges(report: client.report(), queue: nil, modelNames: .init())
        #expect(unread.queueDepth == nil && unread.breakers.keys.sorted() == ["backup", "ft:secret-model"])
    }

    @Test func encodesUnknownValuesAsNull() throws {
        let recorder = MetricsHistoryRecorder(now: self.start)
        recorder.close(now: self.start + 5, gauges: .init())
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        let json = String(decoding: try encoder.encode(recorder.snapshot(now: self.start + 5)), as: UTF8.self)
        #expect(json.contains(#""replica":null"#))
        #expect(json.contains(#""p99Ms":null"#) && json.contains(#""queueDepth":null"#))
        #expect(json.contains(#""intervalMs":5000"#) && json.contains(#""windowMs":900000"#))
    }

    @Test(.timeLimit(.minutes(1))) func theServiceClosesOneIntervalPerTickWithTheGaugesOfThatMoment() async throws {
        let clock = TestClock()
        let reads = Mutex(0)
        let recorder = MetricsHistoryRecorder(now: self.start)
        let service = MetricsHistoryService(
            recorder: recorder,
            gauges: { _ in
                let read = reads.withLock { count in
                    count += 1
                    return count
                }
                return .init(breakers: ["m": .closed], queueDepth: read)
            },
            clock: clock,
            now: { [start = self.start] in start + Double(reads.withLock { $0 }) * 5 }
        )
        try await testGracefulShutdown { trigger in
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { try await service.run() }
                for tick in 1...3 {
                    await clock.waitForSleeper()
                    recorder.recordRequest(duration: .milliseconds(tick))
                    await clock.advance(by: .seconds(5))
                }
                // Asleep again: the third interval is closed.
                await clock.waitForSleeper()
                let points = recorder.snapshot(now: self.start + 15).points
                #expect(points.map(\.queueDepth) == [1, 2, 3])
                #expect(points.map(\.requests) == [1, 1, 1])
                #expect(points.map(\.at) == [self.start + 5, self.start + 10, self.start + 15])
                trigger.triggerGracefulShutdown()
                try await group.waitForAll()
            }
        }
    }
}
