import ArcanosCore
import Foundation
import Logging
import Synchronization
import Testing

@Suite struct RedactorTests {
    let redactor = Redactor.standard

    @Test(arguments: [
        ("Authorization: Bearer abc.def-123", "abc.def-123"),
        ("calling with bearer sk-live-0123456789abcdef", "0123456789abcdef"),
        ("OPENAI_API_KEY=sk-proj-AbCdEf0123456789xyz", "AbCdEf0123456789xyz"),
        (#"{"api_key": "hunter2-secret"}"#, "hunter2"),
        ("password: correct-horse", "correct-horse"),
        ("x-arcanos-automation: s3cr3t-value", "s3cr3t-value"),
        ("token=ghp_abcdefghijklmnopqrstuvwxyz0123", "ghp_"),
        ("aws AKIAABCDEFGHIJKLMNOP used", "AKIAABCDEFGHIJKLMNOP"),
        ("jwt eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NSJ9.c2lnbmF0dXJl", "eyJhbGci"),
        ("opaque 8f3a9c0d2b7e4f1a8f3a9c0d2b7e4f1a99 left", "8f3a9c0d2b7e4f1a8f3a9c0d2b7e4f1a99"),
    ])
    func removesCredentialsFromText(_ text: String, _ secret: String) {
        let redacted = self.redactor.redact(text)
        #expect(!redacted.contains(secret), "\(redacted)")
        #expect(redacted.contains(Redactor.placeholder))
    }

    @Test func keepsOrdinaryTextIdsAndNumbers() {
        for text in [
            "model call failed", "GET /workers/status", "200", "job 3f2b8c1e-5d4a-4b7e-9c2d-1a2b3c4d5e6f succeeded",
            "arcanos-worker-12", "2026-11-29T18:51:24.123Z", "circuit_open",
        ] {
            #expect(self.redactor.redact(text) == text)
        }
    }

    @Test func cutsPromptTextAfter120Characters() {
        let prompt = String(repeating: "word ", count: 60)
        let redacted = self.redactor.redact(prompt, named: "prompt")
        #expect(redacted.count == 121 && redacted.hasSuffix("…"))
        #expect(self.redactor.redact("short prompt", named: "task.input") == "short prompt")
        #expect(self.redactor.redact(prompt, named: "message") == prompt)  // not prompt-like: only credentials go
    }

    @Test func keepsIdsUnderIdNames() {
        let hex = "9a46710a539812342a342a465961210e"
        #expect(self.redactor.redact(hex, named: "hb.request.id") == hex)
        #expect(self.redactor.redact(hex, named: "job_id") == hex)
        #expect(self.redactor.redact("Bearer \(hex)", named: "hb.request.id") != "Bearer \(hex)")
        #expect(self.redactor.redact(hex, named: "note") == Redactor.placeholder)
        // The audit's principal names which operator key was used, by position: not a secret.
        #expect(self.redactor.redact("api-key:2", named: "heal.principal") == "api-key:2")
        #expect(self.redactor.redact("caller api-key:2 asked") == "caller api-key:2 asked")
    }

    @Test func replacesValuesUnderSecretNamesWhole() {
        for name in ["apiKey", "authorization", "OPENAI_API_KEY", "http.cookie", "automation_secret", "confirm_token"] {
            #expect(self.redactor.redact("anything", named: name) == Redactor.placeholder, "\(name)")
        }
        let custom = Redactor(additionalSecretNames: ["X-Ops-Secret"])
        #expect(custom.redact("v", named: "x-ops-secret") == Redactor.placeholder)
    }

    @Test func redactsLogMetadataRecursively() {
        let metadata: Logger.Metadata = [
            "http.authorization": "Bearer abc",
            "job.prompt": .string(String(repeating: "p", count: 300)),
            "nested": ["token": "t-1", "list": ["sk-abcdefghijklmnop"]],
            "llm.model": "gpt-4o-mini",
        ]
        let redacted = self.redactor.redact(metadata)
        #expect(redacted["http.authorization"] == .string(Redactor.placeholder))
        #expect(redacted["job.prompt"]?.description.count == 121)
        #expect(redacted["llm.model"] == "gpt-4o-mini")
        guard case .dictionary(let nested)? = redacted["nested"] else {
            Issue.record("nested lost")
            return
        }
        #expect(nested["token"] == .string(Redactor.placeholder))
        #expect(nested["list"] == .array([.string(Redactor.placeholder)]))
    }

    @Test func redactsADocumentKeepingItsShapeAndFormat() throws {
        let document: JSONValue = [
            "status": "healthy",
            "apiKey": "sk-live-abcdefghijklmnop",
            "count": 3,
            "selfTest": ["results": [["prompt": .string(String(repeating: "x", count: 200)), "success": true]]],
        ]
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes]
        let data = try encoder.encode(document)
        let redacted = try self.redactor.redactDocument(data)
        let text = String(decoding: redacted, as: UTF8.self)
        #expect(!text.contains("sk-live") && text.hasSuffix("\n") && text.contains("\n  \""))
        let value = try JSONDecoder().decode(JSONValue.self, from: redacted)
        #expect(value["apiKey"] == .string(Redactor.placeholder))
        #expect(value["count"] == 3)
        #expect(value["selfTest"]?["results"] != nil)
        // A clean document is written as it came.
        let clean = try encoder.encode(JSONValue.object(["status": "ok"]))
        #expect(try self.redactor.redactDocument(clean) == clean)
        // Bytes it cannot read are refused, never passed through unredacted.
        #expect(throws: ArcanosError.self) {
            try self.redactor.redactDocument(Data("not json sk-live-abcdefghijklmnop".utf8))
        }
    }

    struct Record: Codable, Equatable {
        var id: String
        var token: String
        var attempts: Int
        var input: String
    }

    @Test func redactsACodableRecordWithoutBreakingItsType() throws {
        let record = Record(id: "r1", token: "abc", attempts: 2, input: String(repeating: "i", count: 500))
        let redacted = try self.redactor.redact(record)
        #expect(redacted.token == Redactor.placeholder && redacted.attempts == 2 && redacted.id == "r1")
        #expect(redacted.input.count == 121)
    }
}

@Suite struct RedactingLogHandlerTests {
    @Test func everyJSONLineIsRedacted() throws {
        let lines = Mutex<[String]>([])
        var inner = JSONLogHandler(label: "test") { line in lines.withLock { $0.append(line) } }
        inner.logLevel = .debug
        var logger = Logger(label: "test") { _ in RedactingLogHandler(inner) }
        logger[metadataKey: "hb.request.id"] = "req-1"
        logger.warning(
            "upstream said: invalid api_key=sk-abcdefghijklmnop0123",
            metadata: [
                "http.authorization": "Bearer topsecret", "task.prompt": .string(String(repeating: "q", count: 400)),
            ]
        )
        let line = try #require(lines.withLock { $0.first })
        #expect(!line.contains("sk-abcdefghijklmnop0123") && !line.contains("topsecret"))
        #expect(!line.contains(String(repeating: "q", count: 121)))
        let object = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
        #expect(object["hb.request.id"] as? String == "req-1")
        #expect(object["level"] as? String == "warning")
    }

    @Test func keepsTheLevelOfTheWrappedHandler() {
        var inner = JSONLogHandler(label: "test") { _ in }
        inner.logLevel = .error
        var handler = RedactingLogHandler(inner)
        #expect(handler.logLevel == .error)
        handler.logLevel = .debug
        #expect(handler.logLevel == .debug)
    }
}
