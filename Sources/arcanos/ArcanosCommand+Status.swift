import ArcanosCore
import ArgumentParser
import Foundation

extension ArcanosCommand {
    /// `arcanos status`: the auto-heal summary, pool, provider, queue, supervisor and self-test of a running
    /// server, as tables or (`--json`) as the server's payload; the exit status says how bad it is.
    struct Status: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Show the status of a running server.",
            discussion: """
                Reads GET /workers/status. Exit status: 0 ok or warning, 1 warning with --fail-on-warning, \
                2 critical, 3 the server could not be reached or refused the request.
                """
        )

        @OptionGroup var options: OperatorOptions

        @Flag(help: "Ask for the detailed view (needs the operator key).")
        var detail = false

        @Flag(help: "Exit 1 when severity is warning.")
        var failOnWarning = false

        func run() async throws {
            let outcome = await self.execute(OperatorClient(options: self.options))
            print(outcome.output)
            if outcome.exitCode != 0 { throw ExitCode(outcome.exitCode) }
        }

        /// What to print and how to exit, given a client of the server.
        func execute(_ client: OperatorClient) async -> (output: String, exitCode: Int32) {
            let reply: OperatorClient.Reply
            do {
                reply = try await client.get("/workers/status" + (self.detail ? "?view=detail" : ""))
            } catch {
                return ("error: \(error)", OperatorExit.unreachable)
            }
            guard reply.status == 200, let status = reply.json, case .object = status else {
                return ("error: \(OperatorClient.describe(reply))", OperatorExit.unreachable)
            }
            let severity = status["autoHeal"]?["status"]?.stringValue ?? "unknown"
            let exitCode: Int32 =
                switch severity {
                case "ok": OperatorExit.success
                case "warning": self.failOnWarning ? OperatorExit.failed : OperatorExit.success
                case "critical": OperatorExit.critical
                default: OperatorExit.unreachable
                }
            let output = self.options.json ? String(decoding: reply.body, as: UTF8.self) : Self.render(status)
            return (output, exitCode)
        }

        static func render(_ status: JSONValue) -> String {
            var sections: [String] = []
            let autoHeal = status["autoHeal"]
            var summary = TextTable(header: ["SEVERITY", "ACTION", "MESSAGE"])
            summary.rows.append([
                autoHeal?["status"].text.uppercased() ?? "UNKNOWN", autoHeal?["recommendedAction"].text ?? "—",
                autoHeal?["message"].text ?? "—",
            ])
            sections.append(summary.render())
            var facts: [(String, String)] = [
                ("failing workers", autoHeal?["failingWorkers"]?.arrayValue.map(\.text).joined(separator: ", ") ?? ""),
                ("last error", autoHeal?["lastError"].text ?? "—"),
            ]
            let pool = status["arcanosWorkers"]
            let runtime = pool?["runtime"]
            facts += [
                (
                    "pool",
                    "\(pool?["status"].text ?? "—"): \(runtime?["activeListeners"].text ?? "?") of \(pool?["count"].text ?? "?") workers on \(pool?["model"].text ?? "—")"
                ),
                (
                    "dispatched",
                    "\(runtime?["totalDispatched"].text ?? "—"), last \(runtime?["lastDispatchAt"].text ?? "never")"
                ),
            ]
            if let queue = status["queue"], queue != .null {
                let age = queue["oldestQueuedAgeSeconds"].map { $0 == .null ? "none waiting" : "\($0.text) s" } ?? "—"
                let waiting = "\(queue["depth"].text) waiting (oldest: \(age))"
                facts.append(("queue", "\(waiting), \(queue["inFlight"].text) in flight"))
            }
            if let supervisor = status["supervisor"], supervisor != .null {
                facts.append(("supervisor", supervisor["state"].text))
            }
            if let selfTest = status["selfTest"], selfTest != .null {
                facts.append(("self-test", "\(selfTest["status"].text), last run \(selfTest["lastRun"].text)"))
            }
            if let lastHeal = status["lastHeal"], lastHeal != .null {
                facts.append(
                    (
                        "last heal",
                        "\(lastHeal["executedAt"].text) \(lastHeal["recommendedAction"].text), verified: \(lastHeal["verified"].text)"
                    )
                )
            }
            let width = facts.map(\.0.count).max() ?? 0
            sections.append(
                facts.map {
                    $0.0.padding(toLength: width, withPad: " ", startingAt: 0) + "  " + ($0.1.isEmpty ? "none" : $0.1)
                }.joined(separator: "\n")
            )

            if let provider = status["provider"], provider != .null {
                var table = TextTable(header: ["MODEL", "BREAKER", "OPENINGS", "CALLS", "FAILURES", "LAST FAILURE"])
                for model in provider["models"]?.arrayValue ?? [] {
                    table.rows.append([
                        model["model"].text, model["breaker"].text, model["breakerOpenings"].text, model["calls"].text,
                        model["failures"].text, model["lastFailure"].text,
                    ])
                }
                let degraded = provider["degradedSince"].map { $0 == .null ? "no" : "since \($0.text)" } ?? "no"
                sections.append(table.render() + "\ndegraded mode: \(degraded)")
            }
            let workers = status["workers"]?.arrayValue ?? []
            if !workers.isEmpty {
                var table = TextTable(header: ["MODULE", "AVAILABLE", "ERROR"])
                for worker in workers {
                    table.rows.append([
                        worker["id"].text, worker["available"].text,
                        worker["error"].map { $0 == .null ? "" : $0.text } ?? "",
                    ])
                }
                sections.append(table.render())
            }
            return sections.joined(separator: "\n\n")
        }
    }
}
