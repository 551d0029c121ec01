import ArcanosCore
import Testing

@Suite struct ErrorSummaryTests {
    @Test(arguments: [
        ("command /opt/arcanos/workers/run.sh exited 2", "command <path> exited 2"),
        ("cannot open ~/secrets/key.pem", "cannot open <path>"),
        ("upstream https://api.example.com/v1?key=abc failed", "upstream <url> failed"),
        ("upstream said Bearer abcdefghijklmnop", "upstream said Bearer [redacted]"),
        ("api_key=supersecretvalue rejected", "api_key=[redacted] rejected"),
        ("token sk-proj-1234567890abcdef leaked", "token [redacted] leaked"),
        ("ratio 3/4 and 1/2", "ratio 3/4 and 1/2"),
    ])
    func redactsPathsURLsAndCredentials(input: String, expected: String) {
        #expect(ErrorSummary.redact(input) == expected)
    }

    @Test func neverKeepsAnAuthorizationValue() {
        let redacted = ErrorSummary.redact("Authorization: Bearer sk-abcdefghijklmnop")
        #expect(!redacted.contains("abcdefghijklmnop"))
        #expect(redacted.hasPrefix("Authorization: "))
    }

    @Test func cutsLongMessages() {
        let summary = ErrorSummary(String(repeating: "x", count: 1000))
        #expect(summary.message.count == ErrorSummary.maximumMessageLength)
        #expect(summary.message.hasSuffix("…"))
    }

    @Test(arguments: [
        ("task exceeded its deadline of 30 s", ErrorSummary.Category.timeout),
        ("worker hung: no heartbeat for 5 s", .hung),
        ("command exited with status 1", .crash),
        ("The model is unavailable", .model),
        ("the job was cancelled", .cancelled),
        ("something odd", .error),
    ])
    func classifiesErrors(text: String, category: ErrorSummary.Category) {
        #expect(ErrorSummary(text).category == category)
    }
}
