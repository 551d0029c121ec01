import ArcanosCore
import ArcanosStore
import Foundation
import Testing

/// What reaches the disk went through the redactor.
@Suite struct SystemStateFileRedactionTests {
    @Test func secretsAndLongPromptsNeverReachTheFile() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("arcanos-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let file = SystemStateFile(directory: directory.path)
        let document = """
            {"status":"degraded","lastError":"upstream 401 for Bearer sk-live-abcdefghijklmnop",
             "selfTest":{"results":[{"prompt":"\(String(repeating: "p", count: 300))","success":false}]},
             "config":{"apiKey":"k-123"}}
            """
        try file.write(Data(document.utf8))
        let written = try #require(try file.read())
        let text = String(decoding: written, as: UTF8.self)
        #expect(!text.contains("sk-live") && !text.contains("k-123"))
        #expect(!text.contains(String(repeating: "p", count: 121)))
        let value = try JSONDecoder().decode(JSONValue.self, from: written)
        #expect(value["status"] == "degraded")
        #expect(value["config"]?["apiKey"] == .string(Redactor.placeholder))
    }

    /// Fails closed: bytes the redactor cannot read are not written, and the file keeps what it had.
    @Test func bytesThatCannotBeRedactedAreNotWritten() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("arcanos-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let file = SystemStateFile(directory: directory.path)
        try file.write(Data(#"{"status":"running"}"#.utf8))
        #expect(throws: ArcanosError.self) { try file.write(Data("status=running key=sk-live-abcdefghijklmnop".utf8)) }
        let kept = String(decoding: try #require(try file.read()), as: UTF8.self)
        #expect(kept == #"{"status":"running"}"#)
    }
}
