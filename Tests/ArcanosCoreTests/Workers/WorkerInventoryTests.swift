import ArcanosCore
import Foundation
import Testing

@Suite struct WorkerInventoryTests {
    @Test func theShippedExamplesAreAvailable() throws {
        let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent(
            "../../../workers"
        ).standardized.path
        let listing = WorkerInventory(directory: directory).list()
        #expect(listing.entries.map(\.id) == ["summarize", "uppercase"])
        let errors = listing.entries.compactMap(\.error)
        #expect(listing.availableWorkers == 2, "\(errors)")
        #expect(listing.entries.map(\.kind) == ["prompt", "command"])
    }

    @Test func goodBrokenAndMaliciousFilesAreListedWithClearErrors() throws {
        let directory = try Directory()
        defer { directory.remove() }
        try directory.write(
            "good.json",
            #"{"id":"good","description":"d","kind":"command","command":["/bin/cat"],"timeout":1000,"retries":0}"#
        )
        try directory.write("ask.json", #"{"id":"ask","kind":"prompt","systemPrompt":"Be brief.","model":"m-1"}"#)
        try directory.write("broken.json", "{ not json")
        try directory.write("nokind.json", #"{"id":"nokind"}"#)
        try directory.write("badkind.json", #"{"id":"badkind","kind":"shell"}"#)
        try directory.write("other.json", #"{"id":"mismatch","kind":"command","command":["/bin/cat"]}"#)
        try directory.write("escape.json", #"{"id":"../../etc/passwd","kind":"command","command":["/bin/cat"]}"#)
        try directory.write("dotdot.json", #"{"id":"dotdot","kind":"command","command":["../../bin/sh"]}"#)
        try directory.write("missing.json", #"{"id":"missing","kind":"command","command":["/no/such/binary"]}"#)
        try directory.write("noprompt.json", #"{"id":"noprompt","kind":"prompt"}"#)
        try directory.write("slow.json", #"{"id":"slow","kind":"command","command":["/bin/cat"],"timeout":0}"#)
        try directory.write("arcanos.json", #"{"id":"arcanos","kind":"command","command":["/bin/cat"]}"#)
        try directory.write("notes.txt", "ignored: not a definition")
        let outside = try Directory()
        defer { outside.remove() }
        try outside.write("secret.json", #"{"id":"link","kind":"command","command":["/bin/cat"]}"#)
        try FileManager.default.createSymbolicLink(
            atPath: directory.path + "/link.json",
            withDestinationPath: outside.path + "/secret.json"
        )

        let listing = WorkerInventory(directory: directory.path).list()
        let byFile = Dictionary(uniqueKeysWithValues: listing.entries.map { ($0.file, $0) })
        #expect(listing.totalWorkers == 13 && listing.availableWorkers == 2)
        #expect(byFile["good.json"]?.available == true && byFile["good.json"]?.kind == "command")
        #expect(byFile["ask.json"]?.module?.kind == .prompt(systemPrompt: "Be brief.", model: "m-1"))
        let errors = byFile.mapValues { $0.error ?? "" }
        #expect(errors["broken.json"] == "the file is not valid JSON")
        #expect(errors["nokind.json"] == "kind is required")
        #expect(errors["badkind.json"] == #"kind must be "prompt" or "command""#)
        #expect(errors["other.json"] == #"id "mismatch" does not match the file name "other.json""#)
        #expect(errors["escape.json"] == "id may contain only letters, digits, '.', '_' and '-'")
        #expect(errors["dotdot.json"] == "command[0] must not contain '..'")
        #expect(errors["missing.json"] == "command[0] is not an executable file")
        #expect(errors["noprompt.json"] == "a prompt module needs a systemPrompt")
        #expect(errors["slow.json"] == "timeout must be 1 to 3600000 milliseconds")
        #expect(errors["arcanos.json"] == #"id "arcanos" is reserved for the core pool"#)
        #expect(errors["link.json"] == "the file resolves outside the workers directory")
        // No error names a path of this machine.
        #expect(errors.values.allSatisfy { !$0.contains(directory.path) && !$0.contains(outside.path) })
    }

    @Test func listingNeverRunsAModule() throws {
        let directory = try Directory()
        defer { directory.remove() }
        let marker = directory.path + "/ran"
        try directory.write("touch.json", #"{"id":"touch","kind":"command","command":["/usr/bin/touch","\#(marker)"]}"#)
        let listing = WorkerInventory(directory: directory.path).list()
        #expect(listing.entries.first?.available == true)
        _ = try WorkerInventory(directory: directory.path).module(id: "touch")
        #expect(!FileManager.default.fileExists(atPath: marker))
    }

    @Test func lookupsRejectInvalidIdsAndReportUnknownAndBrokenOnes() throws {
        let directory = try Directory()
        defer { directory.remove() }
        try directory.write("broken.json", "[]")
        let inventory = WorkerInventory(directory: directory.path)
        for id in ["../etc/passwd", "..", ".hidden", "a/b", "", String(repeating: "x", count: 65), "sp ace"] {
            #expect(Self.code { _ = try inventory.module(id: id) } == .invalidRequest, "\(id)")
        }
        #expect(Self.code { _ = try inventory.module(id: "nobody") } == .notFound)
        #expect(Self.code { _ = try inventory.module(id: "broken") } == .notReady)
    }

    @Test func aMissingDirectoryListsNothingAndSaysWhy() {
        let listing = WorkerInventory(directory: "/nonexistent/arcanos-workers").list()
        #expect(listing.entries.isEmpty && listing.problem == "the workers directory does not exist")
    }

    static func code(_ body: () throws -> Void) -> ArcanosError.Code? {
        do {
            try body()
            return nil
        } catch {
            return (error as? ArcanosError)?.code
        }
    }
}

/// A temporary directory for one test.
struct Directory {
    let path: String

    init() throws {
        self.path = NSTemporaryDirectory() + "arcanos-workers-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: self.path, withIntermediateDirectories: true)
    }

    func write(_ name: String, _ contents: String) throws {
        try contents.write(toFile: self.path + "/" + name, atomically: true, encoding: .utf8)
    }

    func remove() {
        try? FileManager.default.removeItem(atPath: self.path)
    }
}
