import Foundation
import Testing

@testable import ArcanosCore

struct JSONWriterTests {
    func text(_ write: (inout JSONWriter) -> Void) -> String {
        var writer = JSONWriter()
        write(&writer)
        return String(decoding: writer.bytes, as: UTF8.self)
    }

    func decoded(_ bytes: [UInt8]) throws -> JSONValue {
        try JSONDecoder().decode(JSONValue.self, from: Data(bytes))
    }

    @Test func separatesMembersAndElementsAtEveryDepth() {
        let text = self.text { writer in
            writer.object { object in
                object.key("a")
                object.number(1)
                object.key("list")
                object.array { list in
                    list.object { _ in }
                    list.array { _ in }
                    list.object { item in
                        item.key("x")
                        item.null()
                        item.key("y")
                        item.bool(false)
                    }
                    list.string("s")
                }
                object.key("b")
                object.object { inner in
                    inner.key("c")
                    inner.string(nil)
                }
            }
        }
        #expect(text == #"{"a":1,"list":[{},[],{"x":null,"y":false},"s"],"b":{"c":null}}"#)
    }

    @Test(arguments: [
        "plain", "", #"quote " and backslash \"#, "line\nbreak\r\ttab", "\u{01}\u{08}\u{0C}\u{1F}",
        "slash / stays", "accents é ü, emoji 🚀, CJK 漢字", "\u{7F} delete",
    ])
    func stringsRoundTripThroughAJSONDecoder(_ value: String) throws {
        var writer = JSONWriter()
        writer.array { $0.string(value) }
        #expect(try self.decoded(writer.bytes) == .array([.string(value)]))
    }

    @Test func escapesControlCharactersAsRFC8259Requires() {
        #expect(self.text { $0.string("a\"b\\c\n\u{01}") } == #""a\"b\\c\n\u0001""#)
        #expect(self.text { $0.string("a/b") } == #""a/b""#)
    }

    @Test func writesNumbersLikeJSONValueEncodes() {
        #expect(self.text { $0.number(42) } == "42")
        #expect(self.text { $0.number(-3.0) } == "-3")
        #expect(self.text { $0.number(0.25) } == "0.25")
        #expect(self.text { $0.number(Double.nan) } == "null")
        #expect(self.text { $0.number(Double.infinity) } == "null")
    }

    @Test func writesAJSONValueWithSortedKeys() throws {
        let value: JSONValue = [
            "type": "object", "required": ["b", "a"], "properties": ["b": ["type": "string"], "a": ["maxItems": 10]],
            "additionalProperties": false, "nothing": nil,
        ]
        var writer = JSONWriter()
        writer.json(value)
        let text = String(decoding: writer.bytes, as: UTF8.self)
        #expect(
            text
                == #"{"additionalProperties":false,"nothing":null,"properties":{"a":{"maxItems":10},"b":{"type":"string"}},"required":["b","a"],"type":"object"}"#
        )
        #expect(try self.decoded(writer.bytes) == value)
    }

    @Test func anAskAnswerHasTheContractShape() throws {
        let created = Date(timeIntervalSince1970: 1_795_000_000.5)
        var answer = AskAnswer(
            result: "Yes \"online\"",
            activeModel: "gpt-4o-mini",
            module: AskService.module,
            meta: .init(id: "chatcmpl-1", created: created, tokens: nil)
        )
        #expect(
            try self.decoded(answer.json) == [
                "result": "Yes \"online\"", "activeModel": "gpt-4o-mini", "module": "arcanos-core",
                "meta": ["id": "chatcmpl-1", "created": .string(created.iso8601Milliseconds)],
            ]
        )
        answer.meta.tokens = LLMUsage(promptTokens: 7, completionTokens: 6, totalTokens: 13)
        #expect(
            try self.decoded(answer.json)["meta"]?["tokens"]
                == ["promptTokens": 7, "completionTokens": 6, "totalTokens": 13]
        )
    }

    @Test func aDegradedAnswerHasTheContractShapeInEveryMode() throws {
        let now = Date(timeIntervalSince1970: 1_795_000_000)
        func answer(_ mode: FallbackMode, _ data: DegradedAnswer.Payload?) -> DegradedAnswer {
            DegradedAnswer(
                message: "unavailable",
                data: data,
                fallbackMode: mode,
                reason: "timeout",
                timestamp: now,
                retryAfter: .seconds(5)
            )
        }
        let common: [String: JSONValue] = [
            "status": "degraded", "message": "unavailable", "reason": "timeout",
            "timestamp": .string(now.iso8601Milliseconds),
        ]
        let cached = answer(.cache, .init(result: "old", activeModel: "m", cachedAt: now, mock: false))
        #expect(
            try self.decoded(cached.json)
                == .object(
                    common.merging([
                        "fallbackMode": "cache",
                        "data": [
                            "result": "old", "activeModel": "m", "cachedAt": .string(now.iso8601Milliseconds),
                            "mock": false,
                        ],
                    ]) { $1 }
                )
        )
        let mock = answer(.mock, .init(result: AskService.mockText, activeModel: nil, cachedAt: nil, mock: true))
        #expect(
            try self.decoded(mock.json)
                == .object(
                    common.merging([
                        "fallbackMode": "mock", "data": ["result": .string(AskService.mockText), "mock": true],
                    ]) { $1 }
                )
        )
        // `data: null` is written, not left out.
        let minimal = answer(.minimal, nil)
        #expect(String(decoding: minimal.json, as: UTF8.self).contains(#""data":null"#))
        #expect(
            try self.decoded(minimal.json) == .object(common.merging(["fallbackMode": "minimal", "data": nil]) { $1 })
        )
    }
}
