import ArcanosCore
import ArcanosTesting
import Foundation
import Testing

/// Issue 11: load is not an outage. The real server wiring against a slow, healthy fake model.
@Suite(.timeLimit(.minutes(2))) struct LoadLiveTests {
    func environment(_ baseURL: String, _ extra: [String: String]) -> [String: String] {
        [
            "OPENAI_API_KEY": "test-key", "OPENAI_BASE_URL": baseURL, "AI_MODEL": "mock-model",
            "SELF_TEST_INTERVAL_MS": "0",
        ]
        .merging(extra) { _, new in new }
    }

    /// Four rounds of 2 s calls over 2 connections: the last ones wait 6 s for a slot, longer than the 5 s
    /// connect timeout that used to cover a wait for a pooled connection and open the breaker.
    @Test("issue 11: more concurrent requests than connections to a slow model all get real answers")
    func moreRequestsThanConnectionsAllGetRealAnswers() async throws {
        let fake = FakeOpenAIServer(mode: .slow)
        fake.slowDelay = .seconds(2)
        try await fake.withRunning { baseURL in
            let environment = self.environment(
                baseURL,
                ["OPENAI_MAX_CONNECTIONS": "2", "OPENAI_MAX_IN_FLIGHT": "2", "OPENAI_TIMEOUT_MS": "20000"]
            )
            try await withLiveServer(environment: environment) { server in
                let responses = try await withThrowingTaskGroup(of: LiveResponse.self) { group in
                    for index in 0..<8 {
                        group.addTask { try await post(server + "/ask", json: #"{"prompt":"load \#(index)"}"#) }
                    }
                    return try await group.reduce(into: []) { $0.append($1) }
                }
                #expect(responses.map(\.status) == Array(repeating: 200, count: 8))
                #expect(responses.allSatisfy { $0.headers["x-arcanos-degraded-reason"] == nil })
                #expect(fake.requestCount == 8)
                let status = try await get(server + "/workers/status").json
                #expect(status[path: "provider.admission.limit"] as? Int == 2)
                #expect(status[path: "provider.admission.shed"] as? Int == 0)
                let model = (status[path: "provider.models"] as? [[String: Any]])?.first
                #expect(model?["breaker"] as? String == "closed")
                #expect(model?["failures"] as? Int == 0)
            }
        }
    }

    @Test("issue 11: past the in-flight limit and its queue, the answer is degraded overloaded at once")
    func pastTheLimitTheAnswerIsOverloadedAtOnce() async throws {
        let fake = FakeOpenAIServer(mode: .slow)
        fake.slowDelay = .milliseconds(2500)
        try await fake.withRunning { baseURL in
            // One call in flight, four waiting: of seven at once, two are turned away.
            let environment = self.environment(baseURL, ["OPENAI_MAX_IN_FLIGHT": "1", "OPENAI_TIMEOUT_MS": "30000"])
            try await withLiveServer(environment: environment) { server in
                let responses = try await withThrowingTaskGroup(of: LiveResponse.self) { group in
                    for index in 0..<7 {
                        group.addTask { try await post(server + "/ask", json: #"{"prompt":"spike \#(index)"}"#) }
                    }
                    return try await group.reduce(into: []) { $0.append($1) }
                }
                let shed = responses.filter { $0.status == 503 }
                #expect(shed.count == 2)
                #expect(responses.filter { $0.status == 200 }.count == 5)
                for response in shed {
                    #expect(response.headers["x-arcanos-degraded-reason"] == "overloaded")
                    #expect(Int(response.headers["retry-after"] ?? "") ?? 0 >= 1)
                    #expect(response.json["reason"] as? String == "overloaded")
                    // Answered without waiting for the model (2.5 s a call); loose for tests running in parallel.
                    #expect(response.elapsed < .seconds(2))
                }
                #expect(fake.requestCount == 5)
                let status = try await get(server + "/workers/status").json
                #expect(status[path: "provider.admission.shed"] as? Int == 2)
                let model = (status[path: "provider.models"] as? [[String: Any]])?.first
                #expect(model?["breaker"] as? String == "closed")
                #expect(model?["overloaded"] as? Int == 2)
                #expect(model?["failures"] as? Int == 0)
                let metrics = try PrometheusTextParser(try await get(server + "/metrics").body)
                #expect(metrics.value(ArcanosMetrics.Name.modelCallsShed) == 2)
                #expect(
                    metrics.value(ArcanosMetrics.Name.modelCalls, ["model": "mock-model", "outcome": "overloaded"]) == 2
                )
            }
        }
    }
}
