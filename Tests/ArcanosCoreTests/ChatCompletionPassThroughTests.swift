import ArcanosCore
import Foundation
import Testing

/// The pure parts of the OpenAI-compatible door (issue 15): the request it passes through, and the splitting
/// of a stream into whole events.
@Suite struct ChatCompletionPassThroughTests {
    func request(_ json: String) throws -> ChatCompletionRequest {
        try ChatCompletionRequest(JSONDecoder().decode(JSONValue.self, from: Data(json.utf8)))
    }

    @Test func everyMemberButTheModelIsPassedThroughAsSent() throws {
        let chat = try self.request(
            #"{"model":"arcanos","messages":[{"role":"user","content":[{"type":"text","text":"hi"}]}],"#
                + #""tools":[{"type":"function","function":{"name":"f"}}],"tool_choice":"auto","seed":7,"stream":true}"#
        )
        #expect(chat.model == "arcanos")
        #expect(chat.stream)
        let sent = try JSONDecoder().decode(JSONValue.self, from: Data(chat.body(for: "gpt-4o-mini")))
        #expect(sent["model"] == "gpt-4o-mini")
        #expect(sent["tool_choice"] == "auto")
        #expect(sent["seed"] == 7)
        #expect(sent["tools"] == chat.body["tools"])
        #expect(sent["messages"] == chat.body["messages"])
    }

    @Test(
        arguments: [
            #"[]"#,
            #"{"messages":[{"role":"user","content":"x"}]}"#,
            #"{"model":" ","messages":[{"role":"user","content":"x"}]}"#,
            #"{"model":"m","messages":[]}"#,
            #"{"model":"m","messages":["hi"]}"#,
            #"{"model":"m","messages":[{"content":"x"}]}"#,
            #"{"model":"m","messages":[{"role":"user"}],"stream":"yes"}"#,
            #"{"model":"m","messages":[{"role":"user"}],"max_tokens":1.5}"#,
            #"{"model":"m","messages":[{"role":"user"}],"max_tokens":0}"#,
            #"{"model":"m","messages":[{"role":"user"}],"temperature":"hot"}"#,
            #"{"model":"m","messages":[{"role":"user"}],"stream_options":true}"#,
        ]
    )
    func malformedRequestsAreInvalid(_ json: String) {
        #expect(throws: ArcanosError.self) { try self.request(json) }
    }

    @Test func eventsAreCutAtBlankLinesWhereverTheBytesSplit() {
        let stream = Array(
            "data: {\"a\":1}\n\n: keep-alive\n\ndata: line one\ndata: line two\r\n\r\ndata: [DONE]\n\n".utf8
        )
        for split in 1..<stream.count {
            var parser = ServerSentEventParser()
            let events = parser.append(stream[..<split]) + parser.append(stream[split...])
            #expect(
                events.map { String(decoding: $0.data, as: UTF8.self) } == [
                    #"{"a":1}"#, "", "line one\nline two", "[DONE]",
                ]
            )
            #expect(events.flatMap(\.raw) == stream, "each event's bytes as they came, split at \(split)")
            #expect(parser.pendingByteCount == 0)
        }
    }

    @Test func anUnfinishedEventIsHeldBack() {
        var parser = ServerSentEventParser()
        #expect(parser.append(Array("data: {\"a\":1}\n".utf8)).isEmpty)
        #expect(parser.pendingByteCount == 14)
        #expect(parser.append(Array("\n".utf8)).count == 1)
    }
}

/// `JSONValue(parsing:)` reads what `JSONDecoder` reads, and refuses what it refuses.
@Suite struct JSONValueParsingTests {
    @Test(
        arguments: [
            #"{"a":[1,-2.5,3e2,0,true,false,null],"b":{"c":"d"},"e":""}"#,
            #"  [ "\"\\\/\b\f\n\r\t", "\u00e9\u4e2d\ud83d\ude00", "é中😀 plain" ]  "#,
            #"{"model":"gpt","messages":[{"role":"user","content":"x"}],"temperature":0.25,"max_tokens":100}"#,
            "-0.5e-3", "\"text\"", "[]", "{}",
        ]
    )
    func agreesWithJSONDecoder(_ text: String) throws {
        let decoded = try JSONDecoder().decode(JSONValue.self, from: Data(text.utf8))
        #expect(JSONValue(parsing: Array(text.utf8)) == decoded)
    }

    @Test(
        arguments: [
            "", "{", "[1,]", #"{"a":1,}"#, #"{"a" 1}"#, "01", "1.", ".5", "+1", "-", "1e", "tru", "nul",
            #""\x""#, #""\ud800""#, #""\ud800\u0041""#, "\"a\u{01}b\"", #""open"#, "[1] 2", "{'a':1}",
        ]
    )
    func refusesWhatIsNotJSON(_ text: String) {
        #expect(JSONValue(parsing: Array(text.utf8)) == nil)
    }

    @Test func deepNestingIsRefusedNotRecursedWithoutBound() {
        #expect(JSONValue(parsing: Array((String(repeating: "[", count: 10_000)).utf8)) == nil)
        #expect(
            JSONValue(parsing: Array((String(repeating: "[", count: 100) + String(repeating: "]", count: 100)).utf8))
                != nil
        )
    }
}
