import Foundation
import Logging

/// The one writer of `systemState.json` (DESIGN §9): merges under this actor, atomic writes, `lastSync`
/// and `schemaVersion` stamped on every write, keys it does not know kept as they are. The file is a
/// `SystemStateDocument` read and written through `DocumentFile`: a corrupt or non-object document is
/// moved aside (`systemState.json.corrupt-<timestamp>`) and replaced by defaults: heal, don't crash.
///
/// The document is re-read before every change, so keys written by someone else (an operator's editor,
/// an older version) survive.
public actor SystemStateManager {
    public static let fileName = "systemState.json"

    private let file: DocumentFile<SystemStateDocument>
    private let version: String
    private let now: @Sendable () -> Date
    /// The last document read or written.
    private var document: [String: JSONValue] = [:]

    public init(
        storage: any SystemStateStorage,
        version: String,
        logger: Logger,
        now: @escaping @Sendable () -> Date = { Date() }
    ) {
        self.file = DocumentFile(
            storage: storage,
            logger: logger,
            corruptionMessage: "state file corrupted: moved aside and replaced by defaults"
        )
        self.version = version
        self.now = now
    }

    /// `{status, version, lastSync}`, the document a fresh or quarantined file starts from.
    public func defaults() -> [String: JSONValue] {
        ["status": "running", "version": .string(self.version), "lastSync": .string(self.now().iso8601Milliseconds)]
    }

    /// Reads the document (quarantining a corrupt one), fills in missing defaults and writes it back.
    /// Call once at start-up so a corrupt file is dealt with before the first request.
    @discardableResult
    public func load() throws -> [String: JSONValue] {
        try self.update { _ in }
    }

    /// The document as last read or written, without touching storage.
    public func snapshot() -> [String: JSONValue] {
        self.document
    }

    /// The value at `path` (`["workers", "lastHeal"]`) in the stored document.
    public func value(at path: [String]) throws -> JSONValue? {
        var current: JSONValue? = .object(try self.read())
        for key in path {
            current = current?[key]
        }
        return current
    }

    /// Deep-merges `patch` into the document: objects merge key by key, any other value replaces what was
    /// there. Returns the document as written.
    @discardableResult
    public func merge(_ patch: [String: JSONValue]) throws -> [String: JSONValue] {
        try self.update { document in
            document = Self.deepMerge(document, patch)
        }
    }

    /// Replaces the value at `path` as a whole (`workers.lastHeal`, `selfTest`), keeping every sibling key.
    /// Intermediate values that are not objects become objects.
    @discardableResult
    public func set(_ value: JSONValue, at path: [String]) throws -> [String: JSONValue] {
        precondition(!path.isEmpty, "path must name a key")
        return try self.update { document in
            document = Self.setting(value, at: path[...], in: document)
        }
    }

    // No `await` in here: a change is read, applied and written in one actor turn.
    private func update(_ change: (inout [String: JSONValue]) -> Void) throws -> [String: JSONValue] {
        var document = try self.read()
        for (key, value) in self.defaults() where document[key] == nil {
            document[key] = value
        }
        change(&document)
        document["lastSync"] = .string(self.now().iso8601Milliseconds)
        document["schemaVersion"] = .number(Double(SystemStateDocument.currentSchemaVersion))
        // A change that gave a known member the wrong type throws here, before anything is written.
        let written = try SystemStateDocument(object: document)
        try self.file.write(written)
        self.document = written.object
        return self.document
    }

    private func read() throws -> [String: JSONValue] {
        try self.file.read(now: self.now())?.object ?? [:]
    }

    static func deepMerge(_ base: [String: JSONValue], _ patch: [String: JSONValue]) -> [String: JSONValue] {
        var result = base
        for (key, value) in patch {
            if case .object(let patchObject) = value, case .object(let baseObject)? = result[key] {
                result[key] = .object(Self.deepMerge(baseObject, patchObject))
            } else {
                result[key] = value
            }
        }
        return result
    }

    static func setting(
        _ value: JSONValue,
        at path: ArraySlice<String>,
        in object: [String: JSONValue]
    ) -> [String: JSONValue] {
        var object = object
        guard let key = path.first else { return object }
        if path.count == 1 {
            object[key] = value
        } else {
            var child: [String: JSONValue] = [:]
            if case .object(let existing)? = object[key] { child = existing }
            object[key] = .object(Self.setting(value, at: path.dropFirst(), in: child))
        }
        return object
    }
}
