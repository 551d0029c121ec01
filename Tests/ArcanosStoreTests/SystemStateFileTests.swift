import ArcanosCore
import ArcanosStore
import ArcanosTesting
import Foundation
import GRDB
import Logging
import Testing

@Suite(.timeLimit(.minutes(1))) struct SystemStateFileTests {
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent("arcanos-state-\(UUID().uuidString)")
        .path

    func makeManager() -> SystemStateManager {
        SystemStateManager(
            storage: SystemStateFile(directory: self.directory),
            version: "1.0.0",
            logger: Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() })
        )
    }

    var path: String { self.directory + "/systemState.json" }

    func document() throws -> [String: JSONValue] {
        let value = try JSONDecoder().decode(JSONValue.self, from: Data(contentsOf: URL(fileURLWithPath: self.path)))
        guard case .object(let object) = value else { throw ArcanosError(.stateCorrupted, "not an object") }
        return object
    }

    @Test func concurrentMergesLeaveOneValidJSONFileWithEveryKey() async throws {
        defer { try? FileManager.default.removeItem(atPath: self.directory) }
        let manager = self.makeManager()
        try await manager.load()
        try await withThrowingTaskGroup(of: Void.self) { group in
            for index in 0..<64 {
                group.addTask {
                    try await manager.merge(["merges": .object(["m\(index)": true])])
                }
                group.addTask {
                    try await manager.set(["planId": .string("plan-\(index)")], at: ["workers", "lastHeal"])
                }
            }
            try await group.waitForAll()
        }
        let document = try self.document()
        guard case .object(let merges)? = document["merges"] else {
            Issue.record("no merges object")
            return
        }
        #expect(merges.count == 64)
        #expect(document["workers"]?["lastHeal"]?["planId"]?.stringValue?.hasPrefix("plan-") == true)
        #expect(document["version"] == "1.0.0")
        // No temporary file is left behind.
        #expect(try FileManager.default.contentsOfDirectory(atPath: self.directory) == ["systemState.json"])
    }

    @Test func aCorruptFileIsMovedAsideAndTheNextMergePersists() async throws {
        defer { try? FileManager.default.removeItem(atPath: self.directory) }
        try FileManager.default.createDirectory(atPath: self.directory, withIntermediateDirectories: true)
        try Data(#"{"status":"running","workers":{"lastHeal":"#.utf8).write(to: URL(fileURLWithPath: self.path))
        let manager = self.makeManager()
        try await manager.load()
        let files = try FileManager.default.contentsOfDirectory(atPath: self.directory)
        let quarantined = try #require(files.first { $0.hasPrefix("systemState.json.corrupt-") })
        #expect(
            try String(contentsOfFile: self.directory + "/" + quarantined, encoding: .utf8)
                == #"{"status":"running","workers":{"lastHeal":"#
        )
        try await manager.set(["planId": "after"], at: ["workers", "lastHeal"])
        let document = try self.document()
        #expect(document["workers"]?["lastHeal"]?["planId"] == "after")
        #expect(document["status"] == "running")
    }

    @Test func keysWrittenByOthersSurviveAMerge() async throws {
        defer { try? FileManager.default.removeItem(atPath: self.directory) }
        let manager = self.makeManager()
        try await manager.load()
        // Someone else edits the file between two merges.
        var edited = try self.document()
        edited["operatorNote"] = "do not delete"
        try JSONEncoder().encode(JSONValue.object(edited)).write(to: URL(fileURLWithPath: self.path))
        try await manager.merge(["selfTest": ["status": "pass"]])
        let document = try self.document()
        #expect(document["operatorNote"] == "do not delete")
        #expect(document["selfTest"] == ["status": "pass"])
    }

    @Test func theFileIsPrettyAndSorted() async throws {
        defer { try? FileManager.default.removeItem(atPath: self.directory) }
        try await self.makeManager().merge(["b": 1, "a": 2])
        let text = try String(contentsOfFile: self.path, encoding: .utf8)
        #expect(text.hasSuffix("}\n"))
        let a = try #require(text.range(of: "\"a\""))
        let b = try #require(text.range(of: "\"b\""))
        #expect(a.lowerBound < b.lowerBound)
    }
}

@Suite struct SQLiteHealAuditLogTests {
    @Test func passesTheAuditLogContractInMemory() async throws {
        try await AuditLogContract.verify(try SQLiteHealAuditLog(writer: DatabaseQueue()))
    }

    @Test func passesTheAuditLogContractInAFileBesideTheJobStore() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent(
            "arcanos-audit-\(UUID().uuidString)"
        ).path
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let path = directory + "/" + SQLiteJobStore.fileName
        // As the server does: one pool, opened by the job store; both migrate it under their own names.
        let store = try SQLiteJobStore(path: path)
        let log = try SQLiteHealAuditLog(sharingDatabaseOf: store)
        try await AuditLogContract.verify(log)
        _ = try await store.enqueue(NewJob(id: "j", worker: "echo", input: "x", maxAttempts: 1), now: Date())
        // Re-opening migrates nothing twice and keeps both tables' rows.
        let reopened = try SQLiteHealAuditLog(path: path)
        #expect(try await reopened.list(limit: 100, before: nil).heals.count == 7)
        #expect(try await SQLiteJobStore(path: path).job(id: "j") != nil)
    }
}
