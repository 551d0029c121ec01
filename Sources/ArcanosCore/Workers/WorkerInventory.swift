import Foundation

/// The worker modules in `ARCANOS_WORKERS_DIR`: one `<id>.json` file each. Reading it parses and validates
/// files and nothing more: listing never runs a module.
public struct WorkerInventory: Sendable {
    /// Larger files are not read: a definition is a few lines.
    public static let maximumFileBytes = 64 * 1024
    public static let fileExtension = "json"

    public let directory: String

    public init(directory: String) {
        self.directory = directory
    }

    /// Every `*.json` file of the directory, sorted by file name; broken ones are listed unavailable with why.
    public func list() -> WorkerInventoryListing {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: self.directory, isDirectory: &isDirectory), isDirectory.boolValue
        else {
            return WorkerInventoryListing(
                directory: self.directory,
                entries: [],
                problem: "the workers directory does not exist"
            )
        }
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: self.directory) else {
            return WorkerInventoryListing(
                directory: self.directory,
                entries: [],
                problem: "the workers directory cannot be read"
            )
        }
        let entries =
            names
            .filter { !$0.hasPrefix(".") && $0.hasSuffix("." + Self.fileExtension) }
            .sorted()
            .map { self.entry(file: $0) }
        return WorkerInventoryListing(directory: self.directory, entries: entries, problem: nil)
    }

    /// The module `id` names. Throws `invalidRequest` for an invalid id, `notFound` when no file defines it,
    /// `notReady` when its file is broken.
    public func module(id: String) throws -> WorkerModule {
        if let problem = WorkerID.problem(with: id) {
            throw ArcanosError.invalidRequest("invalid worker id: \(problem)")
        }
        let file = id + "." + Self.fileExtension
        guard FileManager.default.fileExists(atPath: self.path(of: file)) else {
            throw ArcanosError(.notFound, "no worker named \"\(id)\"")
        }
        let entry = self.entry(file: file)
        guard let module = entry.module else {
            throw ArcanosError(.notReady, "worker \"\(id)\" is unavailable: \(entry.error ?? "invalid definition")")
        }
        return module
    }

    func path(of file: String) -> String {
        (self.directory as NSString).appendingPathComponent(file)
    }

    func entry(file: String) -> WorkerInventoryEntry {
        let stem = String(file.dropLast(Self.fileExtension.count + 1))
        do {
            let module = try self.load(file: file, stem: stem)
            return WorkerInventoryEntry(file: file, module: module)
        } catch let problem as ModuleProblem {
            return WorkerInventoryEntry(file: file, id: stem, error: problem.message)
        } catch {
            return WorkerInventoryEntry(file: file, id: stem, error: "the file cannot be read")
        }
    }

    struct ModuleProblem: Error {
        var message: String
        init(_ message: String) { self.message = message }
    }

    private func load(file: String, stem: String) throws -> WorkerModule {
        if let problem = WorkerID.problem(with: stem) { throw ModuleProblem("file name: \(problem)") }
        let path = self.path(of: file)
        // A symlink may point anywhere; only files that stay inside the directory are definitions.
        let resolved = URL(fileURLWithPath: path).resolvingSymlinksInPath().path
        let root = URL(fileURLWithPath: self.directory).resolvingSymlinksInPath().path
        guard resolved.hasPrefix(root.hasSuffix("/") ? root : root + "/") else {
            throw ModuleProblem("the file resolves outside the workers directory")
        }
        let attributes = try FileManager.default.attributesOfItem(atPath: resolved)
        guard (attributes[.type] as? FileAttributeType) == .typeRegular else {
            throw ModuleProblem("not a regular file")
        }
        guard ((attributes[.size] as? NSNumber)?.intValue ?? 0) <= Self.maximumFileBytes else {
            throw ModuleProblem("the file is larger than \(Self.maximumFileBytes / 1024) KiB")
        }
        let data = try Data(contentsOf: URL(fileURLWithPath: resolved))
        let definition: Definition
        do {
            definition = try JSONDecoder().decode(Definition.self, from: data)
        } catch let error as DecodingError {
            throw ModuleProblem(Self.describe(error))
        }
        return try self.validate(definition, stem: stem)
    }

    /// The file format (camelCase keys, `timeout` in milliseconds). Unknown keys are ignored.
    struct Definition: Decodable {
        var id: String
        var description: String?
        var kind: String
        var systemPrompt: String?
        var model: String?
        var command: [String]?
        var timeout: Int?
        var retries: Int?
    }

    private func validate(_ definition: Definition, stem: String) throws -> WorkerModule {
        if let problem = WorkerID.problem(with: definition.id) { throw ModuleProblem(problem) }
        guard definition.id == stem else {
            throw ModuleProblem("id \"\(definition.id)\" does not match the file name \"\(stem).json\"")
        }
        guard !WorkerID.poolAliases.contains(definition.id) else {
            throw ModuleProblem("id \"\(definition.id)\" is reserved for the core pool")
        }
        let timeoutMs = definition.timeout ?? Int(WorkerModule.defaultTimeout.milliseconds)
        guard (1...3_600_000).contains(timeoutMs) else {
            throw ModuleProblem("timeout must be 1 to 3600000 milliseconds")
        }
        let retries = definition.retries ?? WorkerModule.defaultRetries
        guard (0...10).contains(retries) else { throw ModuleProblem("retries must be 0 to 10") }
        let description = definition.description ?? ""
        guard description.count <= 500 else { throw ModuleProblem("description must be at most 500 characters") }

        let kind: WorkerModule.Kind
        switch definition.kind {
        case "prompt":
            guard let systemPrompt = definition.systemPrompt, !systemPrompt.isBlank
            else { throw ModuleProblem("a prompt module needs a systemPrompt") }
            if let model = definition.model, model.isEmpty || model.count > 200 {
                throw ModuleProblem("model must be 1 to 200 characters")
            }
            kind = .prompt(systemPrompt: systemPrompt, model: definition.model)
        case "command":
            guard var arguments = definition.command, let executable = arguments.first, !executable.isEmpty else {
                throw ModuleProblem("a command module needs command: a non-empty array of strings")
            }
            guard !executable.split(separator: "/").contains("..") else {
                throw ModuleProblem("command[0] must not contain '..'")
            }
            // Relative paths name files inside the workers directory.
            arguments[0] = executable.hasPrefix("/") ? executable : self.path(of: executable)
            guard FileManager.default.isExecutableFile(atPath: arguments[0]) else {
                throw ModuleProblem("command[0] is not an executable file")
            }
            kind = .command(arguments: arguments)
        default:
            throw ModuleProblem("kind must be \"prompt\" or \"command\"")
        }
        return WorkerModule(
            id: definition.id,
            description: description,
            kind: kind,
            timeout: .milliseconds(timeoutMs),
            retries: retries
        )
    }

    private static func describe(_ error: DecodingError) -> String {
        switch error {
        case .keyNotFound(let key, _): "\(key.stringValue) is required"
        case .typeMismatch(_, let context), .valueNotFound(_, let context):
            "\(context.codingPath.map(\.stringValue).joined(separator: ".")) has the wrong type"
        case .dataCorrupted: "the file is not valid JSON"
        @unknown default: "the file is not a valid definition"
        }
    }
}

/// The inventory as listed: for `/workers/status` (`workers[]`, `totalWorkers`, `availableWorkers`).
public struct WorkerInventoryListing: Sendable, Hashable {
    public var directory: String
    public var entries: [WorkerInventoryEntry]
    /// Why the directory itself could not be listed, if it could not.
    public var problem: String?

    public var totalWorkers: Int { self.entries.count }
    public var availableWorkers: Int { self.entries.filter(\.available).count }
    public var failing: [WorkerInventoryEntry] { self.entries.filter { !$0.available } }
}

/// One file of the inventory.
public struct WorkerInventoryEntry: Sendable, Hashable, Codable {
    public var id: String
    public var description: String
    /// The file name, relative to the workers directory.
    public var file: String
    /// `prompt` or `command`; nil when the file is broken.
    public var kind: String?
    public var available: Bool
    /// Why the module is unavailable: a short message naming the field, never file contents or a path.
    public var error: String?
    /// The validated module, when available.
    public var module: WorkerModule?

    enum CodingKeys: String, CodingKey {
        case id, description, file, kind, available, error
    }

    init(file: String, module: WorkerModule) {
        self.id = module.id
        self.description = module.description
        self.file = file
        self.kind = module.kind.name
        self.available = true
        self.error = nil
        self.module = module
    }

    init(file: String, id: String, error: String) {
        self.id = id
        self.description = ""
        self.file = file
        self.kind = nil
        self.available = false
        self.error = error
        self.module = nil
    }
}
