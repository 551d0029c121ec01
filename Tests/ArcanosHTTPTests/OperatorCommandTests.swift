import ArcanosCore
import ArgumentParser
import Configuration
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import Synchronization
import Testing

@testable import arcanos

/// `arcanos status` and `arcanos heal`: parsed through swift-argument-parser, run against a real socket.
@Suite(.timeLimit(.minutes(1))) struct OperatorCommandTests {
    @Test func parsesStatusAndHealOptions() throws {
        let status = try #require(
            try ArcanosCommand.parseAsRoot(["status", "--url", "http://10.0.0.1:9000", "--json", "--fail-on-warning"])
                as? ArcanosCommand.Status
        )
        #expect(status.options.url == "http://10.0.0.1:9000" && status.options.json && status.failOnWarning)
        let defaults = try #require(try ArcanosCommand.parseAsRoot(["status"]) as? ArcanosCommand.Status)
        #expect(defaults.options.url == "http://127.0.0.1:8080" && !defaults.options.json)

        let heal = try #require(
            try ArcanosCommand.parseAsRoot(["heal", "--execute", "--yes", "--api-key", "k"]) as? ArcanosCommand.Heal
        )
        #expect(heal.action == .execute && heal.yes && heal.options.apiKey == "k")
        #expect(heal.body == #"{"mode":"execute"}"#)
        let plan = try #require(try ArcanosCommand.parseAsRoot(["heal"]) as? ArcanosCommand.Heal)
        #expect(plan.action == .plan && plan.body == #"{"mode":"plan"}"#)
    }

    @Test(arguments: [
        ["heal", "--plan", "--execute"], ["status", "--url", "ftp://host"], ["status", "--url", "nope"],
    ])
    func rejectsBadArguments(_ arguments: [String]) {
        #expect(throws: (any Error).self) { try ArcanosCommand.parseAsRoot(arguments) }
    }

    @Test func theAPIKeyComesFromTheEnvironmentUnlessGiven() throws {
        let reader = ConfigReaderForTests.make(["ARCANOS_API_KEY": "from-env"])
        let status = try #require(try ArcanosCommand.parseAsRoot(["status"]) as? ArcanosCommand.Status)
        #expect(status.options.resolvedAPIKey(reader: reader) == "from-env")
        let given = try #require(
            try ArcanosCommand.parseAsRoot(["status", "--api-key", "flag"]) as? ArcanosCommand.Status
        )
        #expect(given.options.resolvedAPIKey(reader: reader) == "flag")
    }

    @Test(arguments: [("ok", Int32(0)), ("warning", 0), ("critical", 2)])
    func statusExitsBySeverity(severity: String, exitCode: Int32) async throws {
        try await withStubServer(severity: severity) { url, stub in
            let command = try #require(
                try ArcanosCommand.parseAsRoot(["status", "--url", url, "--api-key", "op"]) as? ArcanosCommand.Status
            )
            let outcome = await command.execute(OperatorClient(options: command.options))
            #expect(outcome.exitCode == exitCode)
            #expect(outcome.output.contains(severity.uppercased()))
            #expect(outcome.output.contains("mock-model"))
            #expect(stub.authorizations.contains("Bearer op"))
        }
    }

    @Test func statusCanFailOnWarningAndPrintJSON() async throws {
        try await withStubServer(severity: "warning") { url, _ in
            let command = try #require(
                try ArcanosCommand.parseAsRoot(["status", "--url", url, "--json", "--fail-on-warning"])
                    as? ArcanosCommand.Status
            )
            let outcome = await command.execute(OperatorClient(options: command.options))
            #expect(outcome.exitCode == 1)
            let json = try JSONDecoder().decode(JSONValue.self, from: Data(outcome.output.utf8))
            #expect(json["autoHeal"]?["status"]?.stringValue == "warning")
        }
    }

    @Test func statusReportsAnUnreachableServer() async throws {
        let command = try #require(
            try ArcanosCommand.parseAsRoot(["status", "--url", "http://127.0.0.1:9"]) as? ArcanosCommand.Status
        )
        let outcome = await command.execute(OperatorClient(options: command.options))
        #expect(outcome.exitCode == 3)
        #expect(outcome.output.hasPrefix("error:"))
    }

    @Test func healWalksThroughTheChallengeWhenThePersonConfirms() async throws {
        try await withStubServer(severity: "critical") { url, stub in
            let command = try #require(
                try ArcanosCommand.parseAsRoot(["heal", "--execute", "--url", url]) as? ArcanosCommand.Heal
            )
            let shown = Mutex<String?>(nil)
            let outcome = await command.execute(OperatorClient(options: command.options)) { challenge in
                shown.withLock { $0 = challenge }
                return true
            }
            #expect(shown.withLock { $0 }?.contains("Ask the person") == true)
            #expect(stub.confirmations == ["", "token:challenge-1"])
            #expect(outcome.exitCode == 0)
            #expect(outcome.output.contains("verified: yes"))
        }
    }

    @Test func healWithoutConfirmationExitsFour() async throws {
        try await withStubServer(severity: "critical") { url, stub in
            let command = try #require(
                try ArcanosCommand.parseAsRoot(["heal", "--execute", "--url", url]) as? ArcanosCommand.Heal
            )
            let outcome = await command.execute(OperatorClient(options: command.options)) { _ in false }
            #expect(outcome.exitCode == 4)
            #expect(stub.confirmations == [""])
        }
    }

    @Test func healPlanExitsTwoOnCriticalAndYesConfirmsUpFront() async throws {
        try await withStubServer(severity: "critical") { url, stub in
            let command = try #require(
                try ArcanosCommand.parseAsRoot(["heal", "--yes", "--url", url]) as? ArcanosCommand.Heal
            )
            let outcome = await command.execute(OperatorClient(options: command.options)) { _ in
                Issue.record("--yes must not ask")
                return false
            }
            #expect(stub.confirmations == ["yes"])
            #expect(outcome.exitCode == 2)
            #expect(outcome.output.contains("plan only"))
        }
    }

    @Test func aHealThatIsNotVerifiedOrRateLimitedFails() async throws {
        try await withStubServer(severity: "critical", verified: false) { url, _ in
            let command = try #require(
                try ArcanosCommand.parseAsRoot(["heal", "--execute", "--yes", "--url", url]) as? ArcanosCommand.Heal
            )
            let outcome = await command.execute(OperatorClient(options: command.options)) { _ in false }
            #expect(outcome.exitCode == 1)
        }
        try await withStubServer(severity: "critical", rateLimited: true) { url, _ in
            let command = try #require(
                try ArcanosCommand.parseAsRoot(["heal", "--yes", "--url", url]) as? ArcanosCommand.Heal
            )
            let outcome = await command.execute(OperatorClient(options: command.options)) { _ in false }
            #expect(outcome.exitCode == 5)
        }
    }
}

enum ConfigReaderForTests {
    static func make(_ environment: [String: String]) -> ConfigReader {
        ConfigReader(provider: EnvironmentVariablesProvider(environmentVariables: environment))
    }
}

/// What the stub saw.
final class StubRecord: Sendable {
    private let state = Mutex<(authorizations: [String], confirmations: [String])>(([], []))
    var authorizations: [String] { self.state.withLock { $0.authorizations } }
    var confirmations: [String] { self.state.withLock { $0.confirmations } }
    func saw(authorization: String?) { self.state.withLock { $0.authorizations.append(authorization ?? "") } }
    func saw(confirmation: String?) { self.state.withLock { $0.confirmations.append(confirmation ?? "") } }
}

/// A server on a real socket that answers `/workers/status` and `/workers/heal` the way Arcanos does.
func withStubServer(
    severity: String,
    verified: Bool = true,
    rateLimited: Bool = false,
    _ body: @Sendable (String, StubRecord) async throws -> Void
) async throws {
    let record = StubRecord()
    let router = Router()
    router.get("/workers/status") { request, _ -> Response in
        record.saw(authorization: request.headers[.authorization])
        return json(
            """
            {"timestamp":"2026-11-29T18:00:00.000Z","totalWorkers":1,"availableWorkers":1,
             "workers":[{"id":"summarize","description":"d","file":"summarize.json","available":true,"error":null}],
             "arcanosWorkers":{"enabled":true,"count":2,"model":"mock-model","status":"Active",
               "runtime":{"activeListeners":2,"totalDispatched":7,"lastDispatchAt":null}},
             "system":{"model":"mock-model","environment":"test"},
             "autoHeal":{"status":"\(severity)","failingWorkers":[],"lastError":null,
               "recommendedAction":"monitor","message":"All good."},
             "provider":{"configured":true,"allCircuitsOpen":false,"degradedSince":null,
               "models":[{"model":"mock-model","breaker":"closed","breakerOpenings":0,"calls":3,"failures":0}]},
             "queue":{"depth":0,"oldestQueuedAgeSeconds":null,"inFlight":0},"supervisor":null,"selfTest":null,
             "lastHeal":null}
            """
        )
    }
    router.post("/workers/heal") { request, _ -> Response in
        let confirmation = request.headers[HTTPField.Name("x-confirmed")!]
        record.saw(confirmation: confirmation)
        if rateLimited {
            return Response(status: .tooManyRequests, headers: [.retryAfter: "30"])
        }
        guard confirmation == "yes" || confirmation == "token:challenge-1" else {
            return json(
                """
                {"error":"Confirmation required","code":"CONFIRMATION_REQUIRED","confirmationRequired":true,
                 "confirmationChallenge":{"id":"challenge-1","instructions":["Ask the person in charge.",
                 "Retry with x-confirmed: token:challenge-1."]}}
                """,
                status: .forbidden
            )
        }
        var bodyText = try await String(buffer: request.body.collect(upTo: 4096))
        bodyText = bodyText.contains("execute") ? "execute" : "plan"
        let plan =
            #"{"planId":"p1","severity":"\#(severity)","recommendedAction":"restart-workers","message":"Restart.","steps":["Restart the pool."],"source":"heuristic","generatedAt":"2026-11-29T18:00:00.000Z"}"#
        if bodyText == "execute" {
            return json(
                #"{"plan":\#(plan),"execution":{"restart":{"message":"restarted"},"confirmation":{"status":"challenge-token"},"verified":\#(verified)}}"#
            )
        }
        return json(#"{"plan":\#(plan)}"#)
    }
    let app = Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)))
    try await app.test(.live) { client in
        try await body("http://127.0.0.1:\(client.port!)", record)
    }
}

private func json(_ text: String, status: HTTPResponse.Status = .ok) -> Response {
    Response(
        status: status,
        headers: [.contentType: "application/json"],
        body: .init(byteBuffer: ByteBuffer(string: text))
    )
}
