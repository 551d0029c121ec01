import Foundation

/// A worker module from the inventory: what one task for it runs, how long it may take, how often it is retried.
public struct WorkerModule: Sendable, Hashable {
    public enum Kind: Sendable, Hashable {
        /// The task is the user message of a chat with `systemPrompt`, on `model` (nil: `WORKER_MODEL`).
        case prompt(systemPrompt: String, model: String?)
        /// `arguments[0]` (an absolute path) runs with the task on stdin; its stdout is the result.
        case command(arguments: [String])

        public var name: String {
            switch self {
            case .prompt: "prompt"
            case .command: "command"
            }
        }
    }

    public static let defaultTimeout = Duration.seconds(30)
    public static let defaultRetries = 1

    public var id: String
    public var description: String
    public var kind: Kind
    /// Deadline of one task; past it the worker counts as hung.
    public var timeout: Duration
    /// Retries after a failed attempt (attempts = retries + 1).
    public var retries: Int

    public init(id: String, description: String, kind: Kind, timeout: Duration = Self.defaultTimeout, retries: Int = 1)
    {
        self.id = id
        self.description = description
        self.kind = kind
        self.timeout = timeout
        self.retries = retries
    }

    public var maxAttempts: Int { self.retries + 1 }
}

/// Worker ids: what may name a module file and appear in `/workers/run/:workerId`.
public enum WorkerID {
    public static let maximumLength = 64
    /// The core pool's names, as the original system had them: they dispatch to the pool, not to a module.
    public static let poolAliases: Set<String> = ["arcanos", "arcanos-core", "worker.queue"]

    /// `nil` when `id` is acceptable, else why not. Letters, digits, `.`, `_` and `-`, 1–64 characters, not
    /// starting with a dot: no separators, no `..`, nothing a path could be built from.
    public static func problem(with id: String) -> String? {
        guard !id.isEmpty else { return "id must not be empty" }
        guard id.count <= Self.maximumLength else { return "id must be at most \(Self.maximumLength) characters" }
        guard id.utf8.allSatisfy(Self.isAllowed) else { return "id may contain only letters, digits, '.', '_' and '-'" }
        guard !id.hasPrefix(".") else { return "id must not start with '.'" }
        return nil
    }

    public static func isValid(_ id: String) -> Bool { Self.problem(with: id) == nil }

    private static func isAllowed(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
            UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "-"):
            true
        default:
            false
        }
    }
}
