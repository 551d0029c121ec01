import Foundation
import Synchronization

/// Runs pool tasks for real: core pool tasks and prompt modules through the model client (the same resilient
/// client `/ask` uses: deadline, retries, breaker, fallback), command modules as processes.
public struct ModuleTaskExecutor: WorkerTaskExecuting {
    public var inventory: WorkerInventory
    public var clients: WorkerModelClients
    /// `WORKER_MODEL`: the model of core pool tasks and of prompt modules that name none.
    public var poolModel: String
    public var poolSystemPrompt: String
    public var poolTimeout: Duration
    public var poolMaxAttempts: Int
    public var commandRunner: CommandRunner

    public init(
        inventory: WorkerInventory,
        clients: WorkerModelClients,
        poolModel: String,
        poolSystemPrompt: String = "You are an Arcanos worker. Complete the task you are given concisely.",
        poolTimeout: Duration = .seconds(30),
        poolMaxAttempts: Int = 3,
        commandRunner: CommandRunner = .init()
    ) {
        self.inventory = inventory
        self.clients = clients
        self.poolModel = poolModel
        self.poolSystemPrompt = poolSystemPrompt
        self.poolTimeout = poolTimeout
        self.poolMaxAttempts = poolMaxAttempts
        self.commandRunner = commandRunner
    }

    public func plan(worker: String) throws -> WorkerTaskPlan {
        if WorkerID.poolAliases.contains(worker) {
            try self.requireModel()
            return WorkerTaskPlan(
                worker: worker,
                kind: .pool,
                timeout: self.poolTimeout,
                maxAttempts: self.poolMaxAttempts
            )
        }
        let module = try self.inventory.module(id: worker)
        if case .prompt = module.kind { try self.requireModel() }
        return WorkerTaskPlan(
            worker: worker,
            kind: .module(module),
            timeout: module.timeout,
            maxAttempts: module.maxAttempts
        )
    }

    public func execute(_ plan: WorkerTaskPlan, input: String) async throws -> String {
        switch plan.kind {
        case .pool:
            return try await self.prompt(systemPrompt: self.poolSystemPrompt, model: self.poolModel, input: input)
        case .module(let module):
            switch module.kind {
            case .prompt(let systemPrompt, let model):
                return try await self.prompt(systemPrompt: systemPrompt, model: model ?? self.poolModel, input: input)
            case .command(let arguments):
                return try await self.commandRunner.run(
                    arguments,
                    input: input,
                    workingDirectory: self.inventory.directory
                )
            }
        }
    }

    /// Without a model every prompt task would fail; failing it at once (not as a worker crash) keeps a missing
    /// API key from setting off a restart storm.
    private func requireModel() throws {
        guard self.clients.isConfigured else {
            throw ArcanosError(.llmUnavailable, "No model is configured for prompt workers")
        }
    }

    private func prompt(systemPrompt: String, model: String, input: String) async throws -> String {
        let completion = try await self.clients.client(for: model).complete(
            LLMRequest(messages: [.system(systemPrompt), .user(input)])
        )
        return completion.content
    }
}

/// One resilient model client per model the workers use: the `/ask` client for its own model, a sibling over
/// the same provider (own breaker, same fallback) for any other. Models come from configuration and module
/// files only, so the set stays small.
public final class WorkerModelClients: Sendable {
    private let primary: ResilientLLMClient
    private let make: @Sendable (String) -> ResilientLLMClient
    private let clients = Mutex<[String: ResilientLLMClient]>([:])

    /// - Parameter make: builds a client whose chain starts with the given model.
    public init(primary: ResilientLLMClient, make: @escaping @Sendable (String) -> ResilientLLMClient) {
        self.primary = primary
        self.make = make
    }

    public var isConfigured: Bool { self.primary.isConfigured }

    public func client(for model: String) -> ResilientLLMClient {
        if model == self.primary.primaryModel { return self.primary }
        return self.clients.withLock { clients in
            if let client = clients[model] { return client }
            let client = self.make(model)
            clients[model] = client
            return client
        }
    }
}
