import ArcanosTesting
import Foundation
import Testing

@testable import ArcanosCore

@Suite struct SelfTestJudgementTests {
    static func response(_ status: Int, _ body: String, headers: [String: String] = [:]) -> SelfTestHTTPResponse {
        SelfTestHTTPResponse(statusCode: status, headers: headers, body: Data(body.utf8))
    }

    @Test func aLiveAnswerPasses() {
        let verdict = SelfTestPipeline.judge(
            ScriptedSelfTestTransport.answerHealthy(model: "m1"),
            maximumResponseBytes: 1024
        )
        #expect(verdict == .init(statusCode: 200, success: true, message: "ok", activeModel: "m1"))
    }

    @Test(arguments: [
        (
            response(
                503,
                #"{"status":"degraded","reason":"timeout"}"#,
                headers: ["X-Arcanos-Degraded-Reason": "timeout"]
            ),
            "degraded answer (reason: timeout)"
        ),
        // A degraded body is a failure even if some proxy turned the status into 200.
        (
            response(200, #"{"status":"degraded","reason":"circuit_open","data":{"result":"cached"}}"#),
            "degraded answer (reason: circuit_open)"
        ),
        (response(401, #"{"error":"unauthorized","message":"x"}"#), "HTTP 401 (unauthorized)"),
        (response(302, ""), "HTTP 302"),
        (response(500, "<html>oops</html>"), "HTTP 500"),
        (response(200, "not json"), "HTTP 200 without a model answer"),
        (response(200, #"{"result":"   "}"#), "HTTP 200 without a model answer"),
        (
            response(503, #"{"status":"degraded","reason":"<script>alert(1)</script>"}"#),
            "degraded answer (reason: unknown)"
        ),
    ])
    func everythingButALiveAnswerFails(response: SelfTestHTTPResponse, message: String) {
        let verdict = SelfTestPipeline.judge(response, maximumResponseBytes: 1024)
        #expect(verdict.success == false)
        #expect(verdict.message == message)
        #expect(verdict.statusCode == response.statusCode)
        #expect(verdict.activeModel == nil)
    }

    @Test func anOversizedAnswerFails() {
        let big = Self.response(200, #"{"result":"\#(String(repeating: "a", count: 2000))"}"#)
        let verdict = SelfTestPipeline.judge(big, maximumResponseBytes: 1024)
        #expect(verdict.success == false)
        #expect(verdict.message == "response larger than 1 KiB")
    }

    @Test func theJitterStaysWithinTenPercent() {
        let interval = Duration.milliseconds(300_000)
        #expect(SelfTestService<ContinuousClock>.delay(interval: interval, unit: -1) == .milliseconds(270_000))
        #expect(SelfTestService<ContinuousClock>.delay(interval: interval, unit: 0) == interval)
        #expect(SelfTestService<ContinuousClock>.delay(interval: interval, unit: 1) == .milliseconds(330_000))
        #expect(SelfTestService<ContinuousClock>.delay(interval: interval, unit: 7) == .milliseconds(330_000))
    }

    @Test func promptsParseFromStringsAndObjects() throws {
        let prompts = try SelfTestPrompt.parseList(
            #"["Are you up?", {"id":"json","prompt":"Answer {}","expectation":"JSON"}]"#
        )
        #expect(
            prompts == [
                SelfTestPrompt(id: "prompt-1", prompt: "Are you up?", expectation: "a live answer"),
                SelfTestPrompt(id: "json", prompt: "Answer {}", expectation: "JSON"),
            ]
        )
    }

    @Test(arguments: [
        "", "{}", "[]", #"["  "]"#, #"[1]"#, #"[{"id":"a"}]"#, #"[{"prompt":"x","url":"http://evil"}]"#,
        #"[{"id":"../x","prompt":"x"}]"#, #"[{"id":"a","prompt":"x"},{"id":"a","prompt":"y"}]"#,
        "[" + Array(repeating: #""x""#, count: 11).joined(separator: ",") + "]",
    ])
    func badPromptListsAreRejected(text: String) {
        #expect(throws: SelfTestPromptListError.self) { try SelfTestPrompt.parseList(text) }
    }
}
