import ArcanosCore
import ArgumentParser
import Foundation

extension DevCommand.Bench {
    /// Nanoseconds per call of the per-request work `/ask` chose a faster form of, next to the form it
    /// replaced: trimming, timestamps and the JSON of the answers. `bench/hotpath.sh` runs it.
    struct HotPath: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "hot-path",
            abstract: "Per-call cost of the /ask hot path's text and JSON work, against the Foundation forms."
        )

        @Option(help: "Calls per measurement.")
        var iterations = 200_000

        func run() async throws {
            let prompt = "  Are you online? Answer in one word.  "
            let now = Date()
            let answer = AskAnswer(
                result: "Mock answer to: Are you online? Answer in one word.",
                activeModel: "gpt-4o-mini",
                module: AskService.module,
                meta: .init(
                    id: "chatcmpl-mock-1",
                    created: now,
                    tokens: .init(promptTokens: 7, completionTokens: 6, totalTokens: 13)
                )
            )
            let encoder = JSONEncoder()
            encoder.dateEncodingStrategy = .iso8601Milliseconds
            encoder.outputFormatting = [.withoutEscapingSlashes]
            let encodable = EncodableAnswer(answer)

            self.measure("trim: String.trimmingWhitespace()") { prompt.trimmingWhitespace().utf8.count }
            self.measure("trim: Foundation trimmingCharacters(in:)") {
                prompt.trimmingCharacters(in: .whitespacesAndNewlines).utf8.count
            }
            self.measure("timestamp: Date.iso8601Milliseconds") { now.iso8601Milliseconds.utf8.count }
            self.measure("timestamp: a new ISO8601FormatStyle per call") {
                now.formatted(Date.ISO8601FormatStyle(includingFractionalSeconds: true)).utf8.count
            }
            self.measure("answer JSON: AskAnswer.json (JSONWriter)") { answer.json.count }
            self.measure("answer JSON: JSONEncoder, same document") { (try? encoder.encode(encodable))?.count ?? 0 }
        }

        func measure(_ name: String, _ body: () -> Int) {
            var sink = 0
            for _ in 0..<1000 { sink &+= body() }
            let start = ContinuousClock.now
            for _ in 0..<self.iterations { sink &+= body() }
            let elapsed = start.duration(to: .now)
            let nanoseconds = elapsed.seconds * 1e9 / Double(self.iterations)
            let padded = name.padding(toLength: 52, withPad: " ", startingAt: 0)
            // Printing the sink keeps the optimizer from dropping the calls.
            print(padded + String(format: "%8.0f ns/call", nanoseconds) + (sink == 42 ? " " : ""))
        }
    }

    /// `AskAnswer`'s body as a Codable type: what writing it with `JSONEncoder` costs.
    private struct EncodableAnswer: Encodable {
        struct Meta: Encodable {
            var id: String
            var created: Date
            var tokens: Tokens?
        }
        struct Tokens: Encodable {
            var promptTokens: Int
            var completionTokens: Int
            var totalTokens: Int
        }
        var result: String
        var activeModel: String
        var module: String
        var meta: Meta

        init(_ answer: AskAnswer) {
            self.result = answer.result
            self.activeModel = answer.activeModel
            self.module = answer.module
            self.meta = Meta(
                id: answer.meta.id,
                created: answer.meta.created,
                tokens: answer.meta.tokens.map {
                    Tokens(
                        promptTokens: $0.promptTokens,
                        completionTokens: $0.completionTokens,
                        totalTokens: $0.totalTokens
                    )
                }
            )
        }
    }
}
