import ArcanosTesting
import Foundation
import Testing

/// The real server wiring, through real sockets, against the fake OpenAI-compatible server.
@Suite(.timeLimit(.minutes(2))) struct LiveServerTests {
    func environment(_ baseURL: String, _ extra: [String: String] = [:]) -> [String: String] {
        ["OPENAI_API_KEY": "test-key", "OPENAI_BASE_URL": baseURL, "AI_MODEL": "mock-model"]
            .merging(extra) { _, new in new }
    }

    @Test func answersWithTheModelsText() async throws {
        let fake = FakeOpenAIServer(mode: .ok)
        try await fake.withRunning { baseURL in
            try await withLiveServer(environment: self.environment(baseURL)) { server in
                let response = try await post(server + "/ask", json: #"{"prompt":"Are you online?"}"#)
                #expect(response.status == 200)
                #expect(response.json["result"] as? String == "Mock answer to: Are you online?")
                #expect(response.json["activeModel"] as? String == "mock-model")
            }
        }
        #expect(fake.requestCount == 1)
    }

    @Test(arguments: [
        (FakeOpenAIServer.Mode.error500, "server_error"), (.hang, "timeout"), (.garbage, "invalid_response"),
        (.wrongShape, "invalid_response"), (.rateLimited, "rate_limited"),
    ])
    func answersDegradedWithinTheDeadlineWhenTheModelFails(mode: FakeOpenAIServer.Mode, reason: String) async throws {
        let fake = FakeOpenAIServer(mode: mode)
        fake.retryAfterSeconds = 30  // longer than the retry policy waits: fail over at once
        try await fake.withRunning { baseURL in
            // One attempt: the reason is the model's failure, not a deadline that retries on a loaded machine reach.
            // A deadline a loaded machine's answers stay under, so an answer that is there is not read as a timeout.
            let environment = self.environment(baseURL, ["OPENAI_TIMEOUT_MS": "2000", "OPENAI_MAX_ATTEMPTS": "1"])
            try await withLiveServer(environment: environment) { server in
                let response = try await post(server + "/ask", json: #"{"prompt":"Are you online?"}"#)
                #expect(response.status == 503)
                #expect(response.headers["x-arcanos-degraded-reason"] == reason)
                #expect(response.headers["retry-after"] != nil)
                #expect(response.json["status"] as? String == "degraded")
                #expect(response.json["fallbackMode"] as? String == "mock")
                // The deadline bounds the whole call; allow for scheduling on a loaded machine.
                #expect(response.elapsed < .milliseconds(2000) + .seconds(3))
            }
        }
    }

    @Test func onceTheBreakerIsOpenDegradedAnswersNeverReachTheModel() async throws {
        let fake = FakeOpenAIServer(mode: .error500)
        try await fake.withRunning { baseURL in
            let environment = self.environment(
                baseURL,
                ["OPENAI_BREAKER_THRESHOLD": "2", "OPENAI_MAX_ATTEMPTS": "1", "OPENAI_BREAKER_COOLDOWN_MS": "60000"]
            )
            try await withLiveServer(environment: environment) { server in
                for _ in 0..<2 {
                    let response = try await post(server + "/ask", json: #"{"prompt":"x"}"#)
                    #expect(response.headers["x-arcanos-degraded-reason"] == "server_error")
                }
                #expect(fake.requestCount == 2)
                for _ in 0..<10 {
                    let response = try await post(server + "/ask", json: #"{"prompt":"x"}"#)
                    #expect(response.status == 503)
                    #expect(response.headers["x-arcanos-degraded-reason"] == "circuit_open")
                }
                #expect(fake.requestCount == 2)
            }
        }
    }

    @Test func theCacheModeServesAPriorAnswer() async throws {
        let fake = FakeOpenAIServer(mode: .ok)
        try await fake.withRunning { baseURL in
            try await withLiveServer(environment: self.environment(baseURL, ["OPENAI_MAX_ATTEMPTS": "1"])) { server in
                let live = try await post(server + "/ask", json: #"{"prompt":"remember me"}"#)
                #expect(live.status == 200)
                fake.mode = .error500
                let degraded = try await post(server + "/ask", json: #"{"prompt":"remember me"}"#)
                #expect(degraded.status == 503)
                #expect(degraded.json["fallbackMode"] as? String == "cache")
                #expect(degraded.json[path: "data.result"] as? String == live.json["result"] as? String)
            }
        }
    }

    @Test func answersDegradedWithoutAnAPIKey() async throws {
        try await withLiveServer(environment: [:]) { server in
            let response = try await post(server + "/ask", json: #"{"prompt":"hi"}"#)
            #expect(response.status == 503)
            #expect(response.headers["x-arcanos-degraded-reason"] == "not_configured")
        }
    }
}

/// The built executable, as an operator runs it.
@Suite(.timeLimit(.minutes(2))) struct ServeProcessTests {
    @Test func servesAndExitsCleanlyOnSIGTERM() async throws {
        let binary = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
            .appendingPathComponent("arcanos").path
        try #require(FileManager.default.isExecutableFile(atPath: binary), "build the arcanos executable first")
        let directory = makeTemporaryDirectory()
        let process = Process()
        process.executableURL = URL(fileURLWithPath: binary)
        process.arguments = ["serve", "--port", "0", "--data-dir", directory]
        process.environment = ["PATH": "/usr/bin:/bin", "ARCANOS_LOG_FORMAT": "json"]
        let output = Pipe()
        process.standardError = output
        process.standardOutput = FileHandle.nullDevice
        try process.run()

        // Read log output until the server says where it listens (blocking reads, off the cooperative pool).
        let reader = output.fileHandleForReading
        let (port, buffered) = await Task.detached { () -> (Int?, String) in
            var buffered = ""
            while true {
                let chunk = reader.availableData
                if chunk.isEmpty { return (nil, buffered) }
                buffered += String(decoding: chunk, as: UTF8.self)
                if let range = buffered.range(of: #"listening on 127\.0\.0\.1:[0-9]+"#, options: .regularExpression) {
                    return (Int(buffered[range].split(separator: ":").last ?? ""), buffered)
                }
            }
        }.value
        let listening = try #require(port, "no listening line in: \(buffered)")
        let response = try await post("http://127.0.0.1:\(listening)/ask", json: #"{"prompt":"hi"}"#)
        #expect(response.status == 503)
        #expect(buffered.contains(#""level":"warning""#), "JSON log lines expected")

        process.terminate()  // SIGTERM
        process.waitUntilExit()
        #expect(process.terminationReason == .exit)
        #expect(process.terminationStatus == 0)
    }
}
