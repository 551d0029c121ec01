import ArcanosCore
import Foundation
import Testing

@Suite struct HealRequestTests {
    static let human = HealConfirmation(status: "confirmed", gptId: nil, trustedAutomation: false)
    static let trusted = HealConfirmation(status: "trusted-gpt", gptId: "ft:gpt-4o:arcanos", trustedAutomation: true)

    func decide(_ body: String, _ confirmation: HealConfirmation) throws -> HealDecision {
        HealDecision.decide(try HealRequest.decode(Data(body.utf8)), confirmation: confirmation)
    }

    struct DecisionRow: Sendable, CustomTestStringConvertible {
        var name: String
        var body: String
        var trusted: Bool
        var expected: HealDecision
        var testDescription: String { self.name }
    }

    /// The issue's decision table, row by row.
    static let decisions: [DecisionRow] = [
        .init(name: "human, empty body: plan only", body: "", trusted: false, expected: .plan(.executeNotRequested)),
        .init(name: "human, {}: plan only", body: "{}", trusted: false, expected: .plan(.executeNotRequested)),
        .init(
            name: "human, execute:true",
            body: #"{"execute":true}"#,
            trusted: false,
            expected: .execute(autoExecuted: false)
        ),
        .init(
            name: "human, mode execute",
            body: #"{"mode":"execute"}"#,
            trusted: false,
            expected: .execute(autoExecuted: false)
        ),
        .init(
            name: "human, execute:false",
            body: #"{"execute":false}"#,
            trusted: false,
            expected: .plan(.planRequested)
        ),
        .init(name: "human, mode plan", body: #"{"mode":"plan"}"#, trusted: false, expected: .plan(.planRequested)),
        .init(name: "trusted id auto-executes", body: "", trusted: true, expected: .execute(autoExecuted: true)),
        .init(name: "trusted, {}", body: "{}", trusted: true, expected: .execute(autoExecuted: true)),
        .init(
            name: "trusted with mode plan",
            body: #"{"mode":"plan"}"#,
            trusted: true,
            expected: .plan(.planRequested)
        ),
        .init(
            name: "trusted with execute:false",
            body: #"{"execute":false}"#,
            trusted: true,
            expected: .plan(.planRequested)
        ),
        .init(
            name: "trusted asking to execute",
            body: #"{"execute":true}"#,
            trusted: true,
            expected: .execute(autoExecuted: false)
        ),
        .init(
            name: "trusted, force only",
            body: #"{"force":true}"#,
            trusted: true,
            expected: .execute(autoExecuted: true)
        ),
        .init(
            name: "human, force only",
            body: #"{"force":true}"#,
            trusted: false,
            expected: .plan(.executeNotRequested)
        ),
        .init(
            name: "mode execute with execute:true",
            body: #"{"mode":"execute","execute":true}"#,
            trusted: false,
            expected: .execute(autoExecuted: false)
        ),
        .init(
            name: "mode plan with execute:false",
            body: #"{"mode":"plan","execute":false}"#,
            trusted: true,
            expected: .plan(.planRequested)
        ),
        .init(
            name: "null values are absent",
            body: #"{"execute":null,"mode":null,"force":null}"#,
            trusted: false,
            expected: .plan(.executeNotRequested)
        ),
    ]

    @Test(arguments: Self.decisions)
    func decidesWhetherToExecute(_ row: DecisionRow) throws {
        #expect(try self.decide(row.body, row.trusted ? Self.trusted : Self.human) == row.expected)
    }

    struct InvalidRow: Sendable, CustomTestStringConvertible {
        var body: String
        var field: String
        var testDescription: String { self.body }
    }

    static let invalid: [InvalidRow] = [
        .init(body: #"{"mode":"plan","execute":true}"#, field: "mode"),
        .init(body: #"{"mode":"execute","execute":false}"#, field: "mode"),
        .init(body: #"{"execute":"false"}"#, field: "execute"),
        .init(body: #"{"execute":"true"}"#, field: "execute"),
        .init(body: #"{"execute":1}"#, field: "execute"),
        .init(body: #"{"mode":"EXECUTE"}"#, field: "mode"),
        .init(body: #"{"mode":"restart"}"#, field: "mode"),
        .init(body: #"{"mode":true}"#, field: "mode"),
        .init(body: #"{"force":"yes"}"#, field: "force"),
        .init(body: #"{"mod":"plan"}"#, field: "mod"),
        .init(body: #"{"execute":true,"dryRun":true}"#, field: "dryRun"),
        .init(body: "[]", field: "body"),
        .init(body: "null", field: "body"),
        .init(body: "\"execute\"", field: "body"),
        .init(body: "{\"execute\":", field: "body"),
        .init(body: "execute=true", field: "body"),
    ]

    @Test(arguments: Self.invalid)
    func rejectsInvalidBodiesWithTheirField(_ row: InvalidRow) {
        do {
            _ = try HealRequest.decode(Data(row.body.utf8))
            Issue.record("accepted \(row.body)")
        } catch let error as ArcanosError {
            #expect(error.code == .invalidWorkerHealRequest)
            #expect(error.code.rawValue == "INVALID_WORKER_HEAL_REQUEST")
            guard case .array(let details)? = error.details else {
                Issue.record("no details")
                return
            }
            #expect(details.contains { $0["field"]?.stringValue == row.field })
        } catch {
            Issue.record("unexpected \(error)")
        }
    }

    @Test func listsEveryProblemAndNeverEchoesValues() throws {
        let secret = "sk-should-not-be-echoed"
        do {
            _ = try HealRequest.decode(Data(#"{"execute":"\#(secret)","mode":"\#(secret)","force":1}"#.utf8))
            Issue.record("accepted")
        } catch let error as ArcanosError {
            guard case .array(let details)? = error.details else {
                Issue.record("no details")
                return
            }
            #expect(Set(details.compactMap { $0["field"]?.stringValue }) == ["execute", "mode", "force"])
            #expect(!error.message.contains(secret))
            #expect(!"\(details)".contains(secret))
        }
    }

    @Test func whitespaceBodyIsAnEmptyRequest() throws {
        #expect(try HealRequest.decode(Data(" \n\t".utf8)) == HealRequest())
    }

    @Test func decisionUsesTheGateContext() {
        let trusted = ConfirmationContext(status: .automationSecret, gptID: nil)
        let human = ConfirmationContext(status: .confirmed, gptID: "gpt-x")
        #expect(HealDecision.decide(HealRequest(), confirmation: trusted) == .execute(autoExecuted: true))
        #expect(HealDecision.decide(HealRequest(), confirmation: human) == .plan(.executeNotRequested))
        #expect(
            HealConfirmation(human) == HealConfirmation(status: "confirmed", gptId: "gpt-x", trustedAutomation: false)
        )
    }
}
