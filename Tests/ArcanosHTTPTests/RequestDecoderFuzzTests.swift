import ArcanosTesting
import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import Testing

/// A fixed-seed generator (SplitMix64): the same seed gives the same requests on every machine.
struct SeededGenerator: RandomNumberGenerator {
    var state: UInt64

    mutating func next() -> UInt64 {
        self.state &+= 0x9E37_79B9_7F4A_7C15
        var z = self.state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// Fuzzes the request decoders through the real server: the heal, job, run, ask and self-test bodies, the
/// token route and the gate's headers get random JSON-ish bytes and mutations of valid bodies. Whatever is
/// sent, the answer is a 2xx or a 4xx with a JSON body — never a 5xx, a dropped connection or a crash.
///
/// Bounded: `ARCANOS_FUZZ_ITERATIONS` requests (default 300) or 60 s, whichever ends first. The seed is fixed
/// (`ARCANOS_FUZZ_SEED` overrides it) and printed with every failure, so a failure can be replayed.
@Suite(.timeLimit(.minutes(3))) struct RequestDecoderFuzzTests {
    static let seed = ProcessInfo.processInfo.environment["ARCANOS_FUZZ_SEED"].flatMap { UInt64($0) } ?? 20_261_201
    static let iterations = ProcessInfo.processInfo.environment["ARCANOS_FUZZ_ITERATIONS"].flatMap { Int($0) } ?? 300
    static let workers = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("../../workers").standardized.path

    struct Target {
        var path: String
        var valid: [String]
    }

    static let targets: [Target] = [
        Target(
            path: "/ask",
            valid: [#"{"prompt":"hello"}"#, #"{"prompt":"hi","sessionId":"s-1","metadata":{"a":1}}"#]
        ),
        Target(path: "/jobs", valid: [#"{"worker":"uppercase","input":"abc"}"#]),
        Target(
            path: "/workers/run/uppercase",
            valid: [#"{"input":"abc"}"#, #"{"prompt":"x"}"#, #"{"text":"y"}"#]
        ),
        Target(path: "/workers/heal", valid: ["", "{}", #"{"mode":"plan"}"#, #"{"execute":false,"force":false}"#]),
        Target(path: "/devops/self-test", valid: ["", "{}"]),
        Target(path: "/confirm/tokens", valid: [""]),
    ]

    static let alphabet: [UInt8] =
        Array(#"{}[]:,"\ 0123456789.-+eEtruefalsnxyzAZ/u"#.utf8) + [0, 0x0A, 0x7F, 0xC3, 0xA9, 0xFF]

    static func mutate(_ body: String, using generator: inout SeededGenerator) -> [UInt8] {
        var bytes = Array(body.utf8)
        switch Int.random(in: 0..<9, using: &generator) {
        case 0:
            // Random JSON-ish bytes.
            return (0..<Int.random(in: 0...64, using: &generator)).map { _ in
                Self.alphabet.randomElement(using: &generator)!
            }
        case 1, 2:
            // A few byte edits of a valid body.
            for _ in 0..<Int.random(in: 1...4, using: &generator) {
                let byte = Self.alphabet.randomElement(using: &generator)!
                let index = bytes.isEmpty ? 0 : Int.random(in: 0..<bytes.count, using: &generator)
                switch Int.random(in: 0..<3, using: &generator) {
                case 0: bytes.insert(byte, at: index)
                case 1: if !bytes.isEmpty { bytes.remove(at: index) }
                default: if !bytes.isEmpty { bytes[index] = byte } else { bytes.append(byte) }
                }
            }
            return bytes
        case 3:
            // A repeated key.
            guard body.hasPrefix("{\""), let colon = body.firstIndex(of: ":") else {
                return Array("{\"a\":1,\"a\":2}".utf8)
            }
            let key = body[body.index(after: body.startIndex)..<colon]
            return Array(("{" + key + ":null," + body.dropFirst()).utf8)
        case 4:
            // Every string value replaced by another type.
            let replacement = ["1", "true", "null", "[]", "{}", "-0.5e309", "\"\""].randomElement(using: &generator)!
            let text = body.replacingOccurrences(of: #":"[^"]*""#, with: ":" + replacement, options: .regularExpression)
            return Array(text.utf8)
        case 5:
            // Deep nesting.
            let depth = Int.random(in: 1...20_000, using: &generator)
            let open = Bool.random(using: &generator) ? "[" : "{\"a\":"
            return Array((String(repeating: open, count: depth) + "1").utf8)
        case 6:
            // A long string, escapes and control characters in values.
            let filler = ["\\u0000", "\\ud800", "\\\"", "é", "\u{1F600}", "\\n"].randomElement(using: &generator)!
            let long = String(repeating: filler, count: Int.random(in: 1...20_000, using: &generator))
            return Array(
                body.replacingOccurrences(of: #""[^"]*"}"#, with: "\"\(long)\"}", options: .regularExpression).utf8
            )
        case 7:
            // Unknown fields, wrong top-level shapes.
            return Array(
                ["[]", "null", "1", "\"x\"", #"{"unknown":1}"#, "{", "}"].randomElement(using: &generator)!.utf8
            )
        default:
            return bytes
        }
    }

    static func headerValue(using generator: inout SeededGenerator) -> String {
        let candidates = [
            "yes", " YES ", "no", "token:", "token:" + String(repeating: "a", count: 32), "token: zz", "yes, yes", "",
            String(repeating: "x", count: 300),
        ]
        return candidates.randomElement(using: &generator)!
    }

    @Test func everyAnswerIsA2xxOrA4xxJSON() async throws {
        let fake = FakeOpenAIServer(mode: .ok)
        try await fake.withRunning { modelURL in
            let environment = [
                "OPENAI_API_KEY": "test-key", "OPENAI_BASE_URL": modelURL, "AI_MODEL": "mock-model",
                "ARCANOS_WORKERS_DIR": Self.workers, "WORKER_COUNT": "1", "SELF_TEST_INTERVAL_MS": "0",
                "ARCANOS_HEAL_RATE_LIMIT_MAX": "10000", "ARCANOS_CONFIRM_TOKEN_RATE_LIMIT_MAX": "10000",
                "ARCANOS_AUTOMATION_SECRET": "fuzz-automation-secret-0123456789",
            ]
            try await withLiveServer(environment: environment) { server in
                try await Condition.wait("the server is ready", within: .seconds(20)) {
                    try await get(server + "/ready").status == 200
                }
                var generator = SeededGenerator(state: Self.seed)
                let stopAt = ContinuousClock.now + .seconds(60)
                var sent = 0
                for iteration in 0..<Self.iterations where ContinuousClock.now < stopAt {
                    let target = Self.targets.randomElement(using: &generator)!
                    let body = Self.mutate(target.valid.randomElement(using: &generator)!, using: &generator)
                    var request = HTTPClientRequest(url: server + target.path)
                    request.method = .POST
                    switch Int.random(in: 0..<20, using: &generator) {
                    case 0: request.headers.add(name: "content-type", value: "text/plain")
                    case 1: break
                    default: request.headers.add(name: "content-type", value: "application/json")
                    }
                    request.headers.add(
                        name: "x-confirmed",
                        value: Bool.random(using: &generator) ? "yes" : Self.headerValue(using: &generator)
                    )
                    if target.path == "/confirm/tokens" {
                        request.headers.add(name: "x-arcanos-automation", value: Self.headerValue(using: &generator))
                    }
                    request.body = .bytes(ByteBuffer(bytes: body))
                    let response = try await send(request)
                    sent += 1
                    let shown = String(decoding: body.prefix(120), as: UTF8.self).debugDescription
                    let context =
                        "seed \(Self.seed), iteration \(iteration), POST \(target.path) \(shown) → \(response.status) \(response.body.prefix(200))"
                    #expect(
                        (200..<300).contains(response.status) || (400..<500).contains(response.status),
                        "\(context)"
                    )
                    #expect(response.headers["content-type"]?.hasPrefix("application/json") == true, "\(context)")
                }
                #expect(sent >= min(Self.iterations, 50), "too few requests within the time bound: \(sent)")
                // Still serving normally afterwards.
                #expect(try await get(server + "/health").status == 200)
            }
        }
    }
}
