import ArcanosCore
import ArcanosTesting
import Foundation
import Logging
import Synchronization
import Testing

@Suite(.timeLimit(.minutes(1))) struct SystemStateManagerTests {
    let clock = Date(timeIntervalSince1970: 1_800_000_000)

    func makeManager(_ storage: InMemorySystemStateStorage, logger: Logger? = nil) -> SystemStateManager {
        let now = self.clock
        return SystemStateManager(
            storage: storage,
            version: "1.2.3",
            logger: logger ?? Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() }),
            now: { now }
        )
    }

    func stored(_ storage: InMemorySystemStateStorage) throws -> [String: JSONValue] {
        let data = Data(try #require(storage.contents).utf8)
        guard case .object(let object) = try JSONDecoder().decode(JSONValue.self, from: data) else {
            Issue.record("not an object")
            return [:]
        }
        return object
    }

    @Test func aMissingFileStartsFromDefaults() async throws {
        let storage = InMemorySystemStateStorage()
        let document = try await self.makeManager(storage).load()
        #expect(document["status"] == "running")
        #expect(document["version"] == "1.2.3")
        #expect(document["lastSync"] == "2027-01-15T08:00:00.000Z")
        #expect(try self.stored(storage) == document)
    }

    @Test func mergeKeepsUnknownKeysAndStampsLastSync() async throws {
        let storage = InMemorySystemStateStorage(
            contents:
                #"{"status":"running","version":"0.9","custom":{"a":1},"workers":{"note":"keep me"},"lastSync":"old"}"#
        )
        let manager = self.makeManager(storage)
        try await manager.merge(["workers": ["count": 4], "custom": ["b": 2]])
        let document = try self.stored(storage)
        #expect(document["custom"] == ["a": 1, "b": 2])
        #expect(document["workers"] == ["note": "keep me", "count": 4])
        #expect(document["version"] == "0.9")
        #expect(document["lastSync"] == "2027-01-15T08:00:00.000Z")
    }

    @Test func setReplacesOneValueAndKeepsItsSiblings() async throws {
        let storage = InMemorySystemStateStorage(
            contents: #"{"workers":{"note":"keep","lastHeal":{"planId":"old","fallbackModel":"x"}},"#
                + #""selfTest":{"status":"pass"}}"#
        )
        let manager = self.makeManager(storage)
        try await manager.set(["planId": "new", "verified": true], at: ["workers", "lastHeal"])
        let document = try self.stored(storage)
        #expect(document["workers"] == ["note": "keep", "lastHeal": ["planId": "new", "verified": true]])
        #expect(document["selfTest"] == ["status": "pass"])
        #expect(try await manager.value(at: ["workers", "lastHeal", "planId"]) == "new")
    }

    @Test func setTurnsANonObjectIntermediateIntoAnObject() async throws {
        let storage = InMemorySystemStateStorage(contents: #"{"workers":"broken"}"#)
        try await self.makeManager(storage).set(["planId": "p"], at: ["workers", "lastHeal"])
        #expect(try self.stored(storage)["workers"] == ["lastHeal": ["planId": "p"]])
    }

    @Test(arguments: ["{not json", "[1,2,3]", "\"a string\"", "42", "null", ""])
    func aCorruptOrNonObjectFileIsQuarantinedAndReplacedByDefaults(_ contents: String) async throws {
        let storage = InMemorySystemStateStorage(contents: contents)
        let logs = CapturedLogs()
        let document = try await self.makeManager(storage, logger: logs.logger).load()
        #expect(document["status"] == "running")
        #expect(storage.quarantined.keys.first?.hasPrefix("systemState.json.corrupt-") == true)
        #expect(storage.quarantined.values.first == Data(contents.utf8))
        #expect(try self.stored(storage)["version"] == "1.2.3")
        #expect(logs.entries.contains { $0.level == .warning && $0.message.contains("corrupted") })
    }

    @Test func concurrentMergesAllLandInOneValidDocument() async throws {
        let storage = InMemorySystemStateStorage()
        let manager = self.makeManager(storage)
        try await withThrowingTaskGroup(of: Void.self) { group in
            for index in 0..<200 {
                group.addTask {
                    if index.isMultiple(of: 2) {
                        try await manager.merge(["counters": .object(["k\(index)": .number(Double(index))])])
                    } else {
                        try await manager.set(.number(Double(index)), at: ["slots", "s\(index)"])
                    }
                }
            }
            try await group.waitForAll()
        }
        let document = try self.stored(storage)
        guard case .object(let counters)? = document["counters"], case .object(let slots)? = document["slots"] else {
            Issue.record("missing objects")
            return
        }
        #expect(counters.count == 100)
        #expect(slots.count == 100)
    }

    @Test func aFileWithoutSchemaVersionLoadsAndIsStampedWithTheCurrentOne() async throws {
        let legacy = #"{"status":"degraded","version":"0.9","workers":{"lastHeal":{"planId":"p1"}},"lastSync":"old"}"#
        let storage = InMemorySystemStateStorage(contents: legacy)
        let manager = self.makeManager(storage)
        #expect(try await manager.value(at: ["workers", "lastHeal", "planId"]) == "p1")
        #expect(try await manager.value(at: ["schemaVersion"]) == 0)
        try await manager.load()
        let document = try self.stored(storage)
        #expect(document["schemaVersion"] == .number(Double(SystemStateDocument.currentSchemaVersion)))
        #expect(document["status"] == "degraded" && document["version"] == "0.9")
        #expect(document["workers"] == ["lastHeal": ["planId": "p1"]])
        #expect(storage.quarantined.isEmpty)
        let typed = try JSONDecoder().decode(SystemStateDocument.self, from: Data(try #require(storage.contents).utf8))
        #expect(typed.schemaVersion == 1 && typed.status == "degraded" && typed.lastSync == "2027-01-15T08:00:00.000Z")
        #expect(typed.members.keys.sorted() == ["workers"])
    }

    @Test(arguments: [#"{"status":5}"#, #"{"version":["1"]}"#, #"{"schemaVersion":"one"}"#, #"{"lastSync":null}"#])
    func aKnownMemberOfTheWrongTypeIsQuarantined(_ contents: String) async throws {
        let storage = InMemorySystemStateStorage(contents: contents)
        let document = try await self.makeManager(storage).load()
        #expect(storage.quarantined.values.first == Data(contents.utf8))
        #expect(document["status"] == "running" && document["version"] == "1.2.3")
    }

    @Test func aChangeThatBreaksAKnownMemberIsRefusedAndNothingIsWritten() async throws {
        let storage = InMemorySystemStateStorage()
        let manager = self.makeManager(storage)
        try await manager.load()
        let before = storage.contents
        await #expect(throws: ArcanosError.self) { try await manager.merge(["status": 5]) }
        #expect(storage.contents == before)
    }
}
