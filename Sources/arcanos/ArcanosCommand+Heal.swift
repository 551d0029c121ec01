import ArcanosCore
import ArgumentParser
import Foundation

extension ArcanosCommand {
    /// `arcanos heal`: asks a running server for a recovery plan (`--plan`, the default) or runs it
    /// (`--execute`), walking the operator through the confirmation challenge.
    struct Heal: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Get a recovery plan from a running server, or run it.",
            discussion: """
                Calls POST /workers/heal. The server asks a person to confirm: --yes confirms up front \
                (x-confirmed: yes); otherwise, on a terminal, the challenge's instructions are shown and the \
                answer is sent back as x-confirmed: token:<id>. Exit status: 0 plan returned (severity ok or \
                warning) or heal executed and verified; 1 heal executed but not verified; 2 plan severity \
                critical; 3 server unreachable or request refused; 4 confirmation required and not given; \
                5 rate limited.
                """
        )

        @OptionGroup var options: OperatorOptions

        @Flag(exclusivity: .exclusive, help: "Only return a plan (the default), or execute it.")
        var action: Action = .plan

        @Flag(help: "Also reset the restart-storm guard (without it an unsafe pool restarts on probation).")
        var force = false

        @Flag(name: .shortAndLong, help: "Confirm as the person in charge (sends x-confirmed: yes).")
        var yes = false

        enum Action: String, EnumerableFlag {
            case plan, execute
        }

        func run() async throws {
            let interactive = isatty(STDIN_FILENO) == 1 && !self.options.json
            let outcome = await self.execute(OperatorClient(options: self.options)) { challenge in
                guard interactive else { return false }
                print(challenge)
                print("Confirm? [y/N] ", terminator: "")
                return readLine()?.trimmingCharacters(in: .whitespaces).lowercased().hasPrefix("y") == true
            }
            print(outcome.output)
            if outcome.exitCode != 0 { throw ExitCode(outcome.exitCode) }
        }

        var body: String {
            var members = [#""mode":"\#(self.action.rawValue)""#]
            if self.force { members.append(#""force":true"#) }
            return "{" + members.joined(separator: ",") + "}"
        }

        /// What to print and how to exit. `confirm` shows a challenge to the person and returns their answer.
        func execute(
            _ client: OperatorClient,
            confirm: (String) async -> Bool
        ) async -> (output: String, exitCode: Int32) {
            var headers: [String: String] = self.yes ? ["x-confirmed": "yes"] : [:]
            var reply: OperatorClient.Reply
            do {
                reply = try await client.post("/workers/heal", json: self.body, headers: headers)
                if reply.status == 403, reply.json?["code"]?.stringValue == "CONFIRMATION_REQUIRED" {
                    let challenge = reply.json?["confirmationChallenge"]
                    let instructions = challenge?["instructions"]?.arrayValue.map { "  - " + $0.text } ?? []
                    let text =
                        (["This \(self.action == .execute ? "heal" : "plan") needs a person's confirmation:"]
                        + instructions).joined(separator: "\n")
                    guard let id = challenge?["id"]?.stringValue, await confirm(text) else {
                        return (
                            text + "\nNot confirmed: rerun with --yes to confirm.", OperatorExit.confirmationRequired
                        )
                    }
                    headers["x-confirmed"] = "token:\(id)"
                    reply = try await client.post("/workers/heal", json: self.body, headers: headers)
                }
            } catch {
                return ("error: \(error)", OperatorExit.unreachable)
            }
            switch reply.status {
            case 200:
                break
            case 429:
                let wait = reply.headers["retry-after"].map { " (retry after \($0) s)" } ?? ""
                return ("error: too many heals\(wait)", OperatorExit.rateLimited)
            case 403 where reply.json?["code"]?.stringValue == "CONFIRMATION_REQUIRED":
                return ("error: the confirmation was not accepted", OperatorExit.confirmationRequired)
            default:
                return ("error: \(OperatorClient.describe(reply))", OperatorExit.unreachable)
            }
            guard let result = reply.json else {
                return ("error: the server's answer is not JSON", OperatorExit.unreachable)
            }
            let exitCode = Self.exitCode(for: result)
            return (self.options.json ? String(decoding: reply.body, as: UTF8.self) : Self.render(result), exitCode)
        }

        static func exitCode(for result: JSONValue) -> Int32 {
            if let execution = result["execution"], execution != .null {
                return execution["verified"]?.boolValue == true ? OperatorExit.success : OperatorExit.failed
            }
            return result["plan"]?["severity"]?.stringValue == "critical" ? OperatorExit.critical : OperatorExit.success
        }

        static func render(_ result: JSONValue) -> String {
            let plan = result["plan"]
            var table = TextTable(header: ["SEVERITY", "ACTION", "SOURCE", "PLAN"])
            table.rows.append([
                plan?["severity"].text.uppercased() ?? "—", plan?["recommendedAction"].text ?? "—",
                plan?["source"].text ?? "—", plan?["planId"].text ?? "—",
            ])
            var lines = [table.render(), "", plan?["message"].text ?? ""]
            for (index, step) in (plan?["steps"]?.arrayValue ?? []).enumerated() {
                lines.append("  \(index + 1). \(step.text)")
            }
            if let execution = result["execution"], execution != .null {
                let restart = execution["restart"]
                lines += [
                    "",
                    "executed: \(restart?["message"].text ?? "restart requested")",
                    "confirmation: \(execution["confirmation"]?["status"].text ?? "—")",
                    "verified: \(execution["verified"].text)",
                ]
            } else {
                lines += ["", "plan only: nothing ran (use --execute to run it)"]
            }
            return lines.joined(separator: "\n")
        }
    }
}
