/// `systemState.json`: `{schemaVersion, status, version, lastSync}` and every other member (`workers`,
/// `selfTest`, an operator's own keys) as it was written. A file written before `schemaVersion` existed
/// loads as version 0; every write stamps the current one. A file that is not an object, or whose known
/// members have the wrong type, does not decode (and is quarantined by `DocumentFile`).
public struct SystemStateDocument: Codable, Sendable, Equatable {
    public static let currentSchemaVersion = 1

    public var schemaVersion: Int
    /// Nil in a file that lacks it; `SystemStateManager` fills in its default.
    public var status: String?
    public var version: String?
    /// When the document was last written (ISO 8601 with milliseconds).
    public var lastSync: String?
    /// Every other member, kept as it is.
    public var members: [String: JSONValue]

    static let knownKeys: Set<String> = ["schemaVersion", "status", "version", "lastSync"]

    /// From the document as one JSON object, the shape `SystemStateManager`'s merges patch.
    public init(object: [String: JSONValue]) throws {
        switch object["schemaVersion"] {
        case nil: self.schemaVersion = 0
        case .number(let number)? where number >= 0 && number == number.rounded(): self.schemaVersion = Int(number)
        default: throw Self.wrongType("schemaVersion")
        }
        self.status = try Self.string(object, "status")
        self.version = try Self.string(object, "version")
        self.lastSync = try Self.string(object, "lastSync")
        self.members = object.filter { !Self.knownKeys.contains($0.key) }
    }

    /// The document as one JSON object.
    public var object: [String: JSONValue] {
        var object = self.members
        object["schemaVersion"] = .number(Double(self.schemaVersion))
        if let status = self.status { object["status"] = .string(status) }
        if let version = self.version { object["version"] = .string(version) }
        if let lastSync = self.lastSync { object["lastSync"] = .string(lastSync) }
        return object
    }

    public init(from decoder: any Decoder) throws {
        try self.init(object: try [String: JSONValue](from: decoder))
    }

    public func encode(to encoder: any Encoder) throws {
        try self.object.encode(to: encoder)
    }

    private static func string(_ object: [String: JSONValue], _ key: String) throws -> String? {
        switch object[key] {
        case nil: return nil
        case .string(let text)?: return text
        default: throw Self.wrongType(key)
        }
    }

    private static func wrongType(_ key: String) -> ArcanosError {
        ArcanosError(.stateCorrupted, "systemState.json: \(key) has the wrong type")
    }
}
