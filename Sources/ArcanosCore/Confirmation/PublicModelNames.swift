/// How model ids appear where an unauthenticated caller can read them: the public status view, the heal
/// heuristic's findings and `/metrics` labels. A model id that is also a trusted GPT id (any `ft:` model the
/// server is configured with, anything in `TRUSTED_GPT_IDS`) is a credential — sent as `x-gpt-id` it passes
/// the confirmation gate — so there it is shown as a stable alias, `trusted-model-<n>`, numbered in the order
/// of `ConfirmationPolicy.Configuration.effectiveTrustedGPTIDs`. Other ids are shown as they are.
public struct PublicModelNames: Sendable, Hashable {
    private let aliases: [String: String]

    /// - Parameter credentials: the ids that must not be shown, in the order their aliases are numbered.
    public init(credentials: [String] = []) {
        var aliases: [String: String] = [:]
        for id in credentials where aliases[id] == nil {
            aliases[id] = "trusted-model-\(aliases.count + 1)"
        }
        self.aliases = aliases
    }

    /// The trusted ids of the gate's configuration.
    public init(_ gate: ConfirmationPolicy.Configuration) {
        self.init(credentials: gate.effectiveTrustedGPTIDs)
    }

    /// `model`, or its alias when it is a credential.
    public func name(for model: String) -> String {
        self.aliases[model] ?? model
    }
}
