import ArcanosApp
import ArcanosCore
import ArcanosHTTP
import ArcanosTesting
import AsyncHTTPClient
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import NIOHTTP1
import Testing

private func scrape(_ client: some TestClientProtocol) async throws -> PrometheusTextParser {
    let response = try await client.execute(uri: "/metrics", method: .get)
    #expect(response.status == .ok)
    #expect(response.headers[.contentType]?.hasPrefix("text/plain; version=0.0.4") == true)
    return try PrometheusTextParser(String(buffer: response.body))
}

@Suite(.timeLimit(.minutes(1))) struct MetricsRouteTests {
    @Test func metricsAreStrictPrometheusTextCountingRequestsByRoutePattern() async throws {
        let harness = RouterHarness(provider: ScriptedLLMProvider(whenEmpty: .fail(LLMFailure(.serverError))))
        try await harness.makeApplication().test(.router) { client in
            for _ in 0..<3 { _ = try await client.execute(uri: "/health", method: .get) }
            let degraded = try await client.execute(
                uri: "/ask",
                method: .post,
                headers: [.contentType: "application/json"],
                body: ByteBuffer(string: #"{"prompt":"a secret prompt"}"#)
            )
            #expect(degraded.status == .serviceUnavailable)
            _ = try await client.execute(uri: "/workers/nope-1234", method: .get)
            _ = try await client.execute(
                uri: "/ask",
                method: .post,
                headers: [.contentType: "application/json"],
                body: ByteBuffer(string: "{")
            )

            let metrics = try await scrape(client)
            let requests = ArcanosMetrics.Name.httpRequests
            #expect(metrics.value(requests, ["method": "GET", "route": "/health", "status_class": "2xx"]) == 3)
            #expect(metrics.value(requests, ["method": "POST", "route": "/ask", "status_class": "5xx"]) == 1)
            #expect(metrics.value(requests, ["method": "POST", "route": "/ask", "status_class": "4xx"]) == 1)
            #expect(metrics.value(requests, ["method": "GET", "route": "unmatched", "status_class": "4xx"]) == 1)
            let errors = ArcanosMetrics.Name.httpRequestErrors
            #expect(metrics.value(errors, ["method": "GET", "route": "unmatched", "status_class": "4xx"]) == 1)
            #expect(metrics.value(errors, ["method": "GET", "route": "/health", "status_class": "2xx"]) == nil)
            let duration = ArcanosMetrics.Name.httpRequestDuration
            #expect(metrics.value(duration + "_count", ["method": "GET", "route": "/health"]) == 3)
            #expect(
                metrics.value(
                    ArcanosMetrics.Name.degradedAnswers,
                    ["fallback_mode": "mock", "reason": "server_error"]
                ) == 1
            )
            #expect(
                metrics.value(ArcanosMetrics.Name.modelCalls, ["model": "test-model", "outcome": "server_error"]) == 1
            )

            // Bounded labels: no raw path, id or prompt text ever becomes a label value.
            for sample in metrics.samples {
                for value in sample.labels.values {
                    #expect(!value.contains("nope") && !value.contains("1234") && !value.contains("secret"))
                }
            }
        }
    }

    @Test func everyFamilyIsInTheCatalogWithItsLabelsAndHelp() async throws {
        let harness = RouterHarness(provider: ScriptedLLMProvider(whenEmpty: .fail(LLMFailure(.timeout))))
        // After the server's own sampler (the pool and the queue), so its queue values win.
        harness.exporter.addSampler {
            var sample = ArcanosMetrics.Sample()
            sample.queueDepth = 3
            sample.queueOldestAgeSeconds = 1.5
            sample.jobsByOutcome = ["succeeded": 5]
            sample.selfTestLastRun = Date(timeIntervalSince1970: 1_800_000_000)
            sample.selfTestPassed = false
            return sample
        }
        try await harness.makeApplication().test(.router) { client in
            _ = try await client.execute(
                uri: "/ask",
                method: .post,
                headers: [.contentType: "application/json"],
                body: ByteBuffer(string: #"{"prompt":"x"}"#)
            )
            let metrics = try await scrape(client)
            let catalog = Dictionary(uniqueKeysWithValues: ArcanosMetrics.catalog.map { ($0.name, $0) })
            #expect(!metrics.families.isEmpty)
            for family in metrics.families.values {
                let descriptor = try #require(catalog[family.name], "\(family.name) is not in the catalog")
                #expect(family.type == descriptor.kind.rawValue)
                #expect(family.help == descriptor.help)
                #expect(family.name.hasPrefix("arcanos_"))
                if family.type == "counter" { #expect(family.name.hasSuffix("_total")) }
                for sample in family.samples {
                    let names = Set(sample.labels.keys).subtracting(["le"])
                    #expect(names == Set(descriptor.labels), "\(sample.name) has labels \(names)")
                }
            }
            #expect(metrics.value(ArcanosMetrics.Name.queueDepth) == 3)
            #expect(metrics.value(ArcanosMetrics.Name.queueOldestAge) == 1.5)
            #expect(metrics.value(ArcanosMetrics.Name.workerRestarts) == 0)
            #expect(metrics.value(ArcanosMetrics.Name.jobs, ["outcome": "succeeded"]) == 5)
            #expect(metrics.value(ArcanosMetrics.Name.selfTestLastRun) == 1_800_000_000)
            #expect(metrics.value(ArcanosMetrics.Name.selfTestLastSuccess) == 0)
            // A second scrape with the same totals does not count them again.
            let again = try await scrape(client)
            #expect(again.value(ArcanosMetrics.Name.jobs, ["outcome": "succeeded"]) == 5)
        }
    }

    @Test func countersMoveAfterRequests() async throws {
        let harness = RouterHarness(provider: ScriptedLLMProvider())
        try await harness.makeApplication().test(.router) { client in
            let labels = ["method": "GET", "route": "/health", "status_class": "2xx"]
            let before = try await scrape(client).value(ArcanosMetrics.Name.httpRequests, labels) ?? 0
            for _ in 0..<5 { _ = try await client.execute(uri: "/health", method: .get) }
            let answered = try await client.execute(
                uri: "/ask",
                method: .post,
                headers: [.contentType: "application/json"],
                body: ByteBuffer(string: #"{"prompt":"hi"}"#)
            )
            #expect(answered.status == .ok)
            let after = try await scrape(client)
            #expect(after.value(ArcanosMetrics.Name.httpRequests, labels) == before + 5)
            #expect(
                after.value(ArcanosMetrics.Name.httpRequestDuration + "_count", ["method": "GET", "route": "/health"])
                    == 5
            )
            #expect(after.value(ArcanosMetrics.Name.modelCalls, ["model": "test-model", "outcome": "success"]) == 1)
            // The scrape before this one is counted too.
            #expect(
                after.value(
                    ArcanosMetrics.Name.httpRequests,
                    ["method": "GET", "route": "/metrics", "status_class": "2xx"]
                ) == 1
            )
        }
    }

    @Test func breakerStateAndTransitionsArePerConfiguredModel() async throws {
        let provider = ScriptedLLMProvider(whenEmpty: .fail(LLMFailure(.serverError)))
        let harness = RouterHarness(provider: provider, breakerThreshold: 1) {
            $0.model.fallbackModel = "backup-model"
        }
        try await harness.makeApplication().test(.router) { client in
            let closed = try await scrape(client)
            #expect(closed.value(ArcanosMetrics.Name.breakerState, ["model": "test-model"]) == 0)
            #expect(closed.value(ArcanosMetrics.Name.breakerState, ["model": "backup-model"]) == 0)

            _ = try await client.execute(
                uri: "/ask",
                method: .post,
                headers: [.contentType: "application/json"],
                body: ByteBuffer(string: #"{"prompt":"x"}"#)
            )
            let open = try await scrape(client)
            for model in ["test-model", "backup-model"] {
                #expect(open.value(ArcanosMetrics.Name.breakerState, ["model": model]) == 2)
                #expect(open.value(ArcanosMetrics.Name.breakerTransitions, ["model": model, "to": "open"]) == 1)
            }
            // With every breaker open the next answer is degraded at once, and counted by its reason.
            _ = try await client.execute(
                uri: "/ask",
                method: .post,
                headers: [.contentType: "application/json"],
                body: ByteBuffer(string: #"{"prompt":"x"}"#)
            )
            let rejected = try await scrape(client)
            #expect(
                rejected.value(
                    ArcanosMetrics.Name.degradedAnswers,
                    ["fallback_mode": "mock", "reason": "circuit_open"]
                ) == 1
            )
        }
    }

    @Test func everyResponseCarriesItsRequestID() async throws {
        let harness = RouterHarness(provider: ScriptedLLMProvider()) { $0.auth.apiKeys = ["operator-key"] }
        try await harness.makeApplication().test(.router) { client in
            var ids: Set<String> = []
            for (uri, status) in [
                ("/health", HTTPResponse.Status.ok), ("/nope", .notFound), ("/ask?prompt=x", .unauthorized),
            ] {
                let response = try await client.execute(uri: uri, method: .get)
                #expect(response.status == status)
                let id = try #require(response.headers[.requestID], "\(uri) has no x-request-id")
                #expect(!id.isEmpty)
                ids.insert(id)
            }
            #expect(ids.count == 3)
        }
    }

    @Test func metricsCanBeTurnedOff() async throws {
        let harness = RouterHarness(provider: nil) { $0.observability.metricsEnabled = false }
        try await harness.makeApplication().test(.router) { client in
            let response = try await client.execute(uri: "/metrics", method: .get)
            #expect(response.status == .notFound)
        }
    }

    @Test func metricsCanRequireTheOperatorKey() async throws {
        let harness = RouterHarness(provider: nil) {
            $0.auth.apiKeys = ["operator-key"]
            $0.observability.metricsRequireKey = true
        }
        try await harness.makeApplication().test(.router) { client in
            let anonymous = try await client.execute(uri: "/metrics", method: .get)
            #expect(anonymous.status == .unauthorized)
            let authorized = try await client.execute(
                uri: "/metrics",
                method: .get,
                headers: [.authorization: "Bearer operator-key"]
            )
            #expect(authorized.status == .ok)
            // The history is metrics too: behind the same key.
            #expect(try await client.execute(uri: "/metrics/history", method: .get).status == .unauthorized)
            let history = try await client.execute(
                uri: "/metrics/history",
                method: .get,
                headers: [.authorization: "Bearer operator-key"]
            )
            #expect(history.status == .ok)
        }
    }

    @Test func metricsSettingsAreReadFromTheEnvironment() throws {
        let defaults = try configuration(environment: [:])
        #expect(defaults.observability.metricsEnabled && !defaults.observability.metricsRequireKey)
        #expect(defaults.observability.historyInterval == .seconds(5))
        let set = try configuration(environment: [
            "ARCANOS_METRICS_ENABLED": "false", "ARCANOS_METRICS_REQUIRE_KEY": "true",
            "ARCANOS_HISTORY_INTERVAL_MS": "1000",
        ])
        #expect(!set.observability.metricsEnabled && set.observability.metricsRequireKey)
        #expect(set.observability.historyInterval == .seconds(1))
        #expect(throws: ArcanosError.self) { try configuration(environment: ["ARCANOS_METRICS_ENABLED": "maybe"]) }
        for invalid in ["999", "60001", "5s"] {
            let error = #expect(throws: ArcanosError.self) {
                try configuration(environment: ["ARCANOS_HISTORY_INTERVAL_MS": invalid])
            }
            #expect(error?.message.contains("ARCANOS_HISTORY_INTERVAL_MS") == true, "\(error?.message ?? "")")
        }
    }

    /// Polls `/metrics/history` until `done` holds for its body, or fails at the deadline.
    func waitForHistory(
        _ server: String,
        within deadline: Duration,
        _ done: ([String: Any]) -> Bool
    ) async throws -> [String: Any] {
        let end = ContinuousClock.now + deadline
        while true {
            let response = try await get(server + "/metrics/history")
            #expect(response.status == 200)
            #expect(response.headers["cache-control"] == "no-store")
            if done(response.json) { return response.json }
            guard ContinuousClock.now < end else {
                Issue.record("not done within \(deadline): \(response.body)")
                return response.json
            }
            try await Task.sleep(for: .milliseconds(100))
        }
    }

    @Test("The live server's history counts its requests and degraded answers, with the breaker and the queue")
    func theHistoryCountsRequestsAndDegradedAnswers() async throws {
        let fake = FakeOpenAIServer(mode: .error500)
        try await fake.withRunning { baseURL in
            let environment = [
                "OPENAI_API_KEY": "test-key", "OPENAI_BASE_URL": baseURL, "AI_MODEL": "mock-model",
                "OPENAI_MAX_ATTEMPTS": "1", "OPENAI_BREAKER_THRESHOLD": "1", "OPENAI_BREAKER_OPEN_MS": "600000",
                "SELF_TEST_INTERVAL_MS": "0", "ARCANOS_HISTORY_INTERVAL_MS": "1000",
            ]
            try await withLiveServer(environment: environment) { server in
                let empty = try await get(server + "/metrics/history")
                #expect(empty.json["intervalMs"] as? Int == 1000 && empty.json["windowMs"] as? Int == 900_000)
                #expect(empty.json.keys.contains("replica") && empty.json["replica"] is NSNull)
                for _ in 0..<3 { #expect(try await get(server + "/health").status == 200) }
                // The model fails: the first answer opens the breaker, the second is rejected by it; both degraded.
                for _ in 0..<2 {
                    let answer = try await post(server + "/ask", json: #"{"prompt":"Are you online?"}"#)
                    #expect(answer.status == 503)
                }
                let body = try await self.waitForHistory(server, within: .seconds(15)) { body in
                    let points = body["points"] as? [[String: Any]] ?? []
                    return points.reduce(0) { $0 + ($1["degraded"] as? Int ?? 0) } == 2
                        && points.reduce(0) { $0 + ($1["requests"] as? Int ?? 0) } >= 6
                        && (points.last?["breakers"] as? [String: String])?["mock-model"] == "open"
                }
                let points = try #require(body["points"] as? [[String: Any]])
                // Every request so far is in some closed interval: the 3 /health, the 2 /ask and the first
                // history read (the reads that follow may still be in the open one).
                #expect(points.reduce(0) { $0 + ($1["requests"] as? Int ?? 0) } >= 6)
                #expect(points.reduce(0) { $0 + ($1["degraded"] as? Int ?? 0) } == 2)
                let busy = try #require(points.first { ($0["degraded"] as? Int ?? 0) > 0 })
                #expect((busy["degradedPerSecond"] as? Double ?? 0) > 0)
                #expect((busy["requestsPerSecond"] as? Double ?? 0) > 0)
                #expect((busy["p99Ms"] as? Double ?? -1) >= 0)
                #expect(busy["queueDepth"] as? Int == 0)
                // Oldest first.
                let times = points.compactMap { ($0["at"] as? String).flatMap(Self.date) }
                #expect(times.count == points.count && times == times.sorted())
            }
        }
    }

    static func date(_ text: String) -> Date? {
        try? Date(text, strategy: .iso8601.year().month().day().time(includingFractionalSeconds: true))
    }
}

/// The parser has to catch what it is there to catch, or the tests above prove nothing.
@Suite struct PrometheusTextParserTests {
    @Test func acceptsAWellFormedExposition() throws {
        let text = """
            # HELP a_total Things.
            # TYPE a_total counter
            a_total{x="1",y="q\\"uote"} 3
            a_total{x="2",y=""} 0
            # TYPE h_seconds histogram
            h_seconds_bucket{le="0.1"} 1
            h_seconds_bucket{le="1.0"} 2
            h_seconds_bucket{le="+Inf"} 2
            h_seconds_sum 0.6
            h_seconds_count 2

            """
        let parsed = try PrometheusTextParser(text)
        #expect(parsed.value("a_total", ["x": "1", "y": "q\"uote"]) == 3)
        #expect(parsed.value("h_seconds_count") == 2)
    }

    @Test(arguments: [
        ("sample before TYPE", "a_total 1\n"),
        ("duplicate series", "# TYPE a_total counter\na_total{x=\"1\"} 1\na_total{x=\"1\"} 2\n"),
        ("negative counter", "# TYPE a_total counter\na_total -1\n"),
        ("bad value", "# TYPE g gauge\ng one\n"),
        ("bad label escape", "# TYPE g gauge\ng{x=\"\\q\"} 1\n"),
        ("unterminated labels", "# TYPE g gauge\ng{x=\"1\" 1\n"),
        ("second TYPE", "# TYPE g gauge\n# TYPE g gauge\ng 1\n"),
        ("HELP after samples", "# TYPE g gauge\ng 1\n# HELP g late\n"),
        ("interleaved families", "# TYPE g gauge\ng 1\n# TYPE h gauge\nh 1\ng{x=\"1\"} 2\n"),
        ("empty line", "# TYPE g gauge\n\ng 1\n"),
        ("no final newline", "# TYPE g gauge\ng 1"),
        (
            "non-cumulative buckets",
            "# TYPE h histogram\nh_bucket{le=\"1\"} 2\nh_bucket{le=\"2\"} 1\nh_bucket{le=\"+Inf\"} 2\nh_sum 1\nh_count 2\n"
        ),
        (
            "+Inf differs from _count",
            "# TYPE h histogram\nh_bucket{le=\"1\"} 1\nh_bucket{le=\"+Inf\"} 1\nh_sum 1\nh_count 2\n"
        ),
        ("histogram without +Inf", "# TYPE h histogram\nh_bucket{le=\"1\"} 1\nh_sum 1\nh_count 1\n"),
        ("histogram without _sum", "# TYPE h histogram\nh_bucket{le=\"+Inf\"} 1\nh_count 1\n"),
    ])
    func rejects(_ what: String, _ text: String) {
        #expect(throws: PrometheusTextParser.ParseError.self, "\(what)") { try PrometheusTextParser(text) }
    }
}

/// The real server wiring: every family it emits, worker and queue samples included, parses strictly.
@Suite(.timeLimit(.minutes(2))) struct LiveMetricsTests {
    @Test func theRunningServersMetricsParseAndIncludeThePoolAndTheModel() async throws {
        let fake = FakeOpenAIServer(mode: .ok)
        try await fake.withRunning { baseURL in
            let environment = [
                "OPENAI_API_KEY": "test-key", "OPENAI_BASE_URL": baseURL, "AI_MODEL": "mock-model",
                "SELF_TEST_INTERVAL_MS": "0",
            ]
            try await withLiveServer(environment: environment) { server in
                let answer = try await post(server + "/ask", json: #"{"prompt":"Are you online?"}"#)
                #expect(answer.status == 200)
                #expect(answer.headers["x-request-id"]?.isEmpty == false)
                let metrics = try PrometheusTextParser(try await get(server + "/metrics").body)
                let catalog = Set(ArcanosMetrics.catalog.map(\.name))
                for family in metrics.families.keys {
                    #expect(catalog.contains(family), "\(family) not in the catalog")
                }
                #expect(metrics.value(ArcanosMetrics.Name.breakerState, ["model": "mock-model"]) == 0)
                #expect(
                    metrics.value(ArcanosMetrics.Name.modelCalls, ["model": "mock-model", "outcome": "success"]) == 1
                )
                #expect(
                    metrics.value(
                        ArcanosMetrics.Name.httpRequests,
                        ["method": "POST", "route": "/ask", "status_class": "2xx"]
                    )
                        == 1
                )
                // Sampled from the supervisor and the job store at the scrape.
                #expect(metrics.value(ArcanosMetrics.Name.workersActive) != nil)
                #expect(metrics.value(ArcanosMetrics.Name.queueDepth) == 0)
                #expect(metrics.value(ArcanosMetrics.Name.workerRestarts) == 0)
            }
        }
    }
}

/// Heals are counted where they are recorded: once per audit record, by the kind of caller and the outcome.
@Suite struct MeteredAuditLogTests {
    @Test func keepsTheContractAndCountsHealsBySourceAndOutcome() async throws {
        try await AuditLogContract.verify(MeteredAuditLog(InMemoryHealAuditLog(), metrics: .disabled))

        let exporter = PrometheusExporter()
        let log = MeteredAuditLog(InMemoryHealAuditLog(), metrics: exporter.metrics)
        for (index, principal) in ["api-key:1", "api-key:2", "watchdog", "gpt:g-secret-id"].enumerated() {
            var record = AuditLogContract.sampleRecord(index: 1, at: Date())  // a planned heal
            record.caller.principal = principal
            if index == 2 { record.outcome = .failed }
            try await log.append(record)
        }
        let metrics = try PrometheusTextParser(await exporter.exposition())
        let heals = ArcanosMetrics.Name.heals
        #expect(metrics.value(heals, ["source": "operator", "outcome": "planned"]) == 2)
        #expect(metrics.value(heals, ["source": "watchdog", "outcome": "failed"]) == 1)
        #expect(metrics.value(heals, ["source": "gpt", "outcome": "planned"]) == 1)
        #expect(!metrics.samples.contains { $0.labels.values.contains { $0.contains("g-secret-id") } })
    }
}
