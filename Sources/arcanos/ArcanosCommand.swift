import ArgumentParser

@main
struct ArcanosCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "arcanos",
        abstract: "A self-healing AI backend.",
        subcommands: [Serve.self, SelfTest.self, Status.self, Heal.self],
        defaultSubcommand: Serve.self
    )
}
