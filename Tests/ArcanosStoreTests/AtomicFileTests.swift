import ArcanosStore
import Foundation
import Testing

@Suite struct AtomicFileTests {
    @Test func writeReplacesTheWholeFileAndLeavesNoTemporaryFile() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("arcanos-\(UUID().uuidString)")
            .path
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let path = directory + "/state.json"
        try AtomicFile.write(Data(#"{"a":1}"#.utf8), to: path)
        try AtomicFile.write(Data(#"{"b":2}"#.utf8), to: path)
        #expect(try String(contentsOfFile: path, encoding: .utf8) == #"{"b":2}"#)
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory) == ["state.json"])
    }

    @Test func quarantineMovesTheFileAsideWithATimestamp() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("arcanos-\(UUID().uuidString)")
            .path
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let path = directory + "/state.json"
        try AtomicFile.write(Data("not json".utf8), to: path)
        let moved = try AtomicFile.quarantine(path, now: Date(timeIntervalSince1970: 1_000))
        #expect(moved == path + ".corrupt-1000000")
        #expect(!FileManager.default.fileExists(atPath: path))
        #expect(try String(contentsOfFile: moved, encoding: .utf8) == "not json")
    }
}
