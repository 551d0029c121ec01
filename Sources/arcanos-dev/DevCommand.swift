import ArgumentParser

/// `arcanos-dev`: the development tools that run the test doubles — a fake model server and the in-process
/// benchmarks. Kept out of `arcanos`, so the server binary links no test code.
@main
struct DevCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "arcanos-dev",
        abstract: "Development tools for Arcanos: a fake model server and benchmarks.",
        subcommands: [MockLLM.self, Bench.self]
    )
}
