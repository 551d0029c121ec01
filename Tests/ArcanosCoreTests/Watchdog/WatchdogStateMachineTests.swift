import ArcanosCore
import Foundation
import Testing

@Suite struct WatchdogStateMachineTests {
    let now = Date(timeIntervalSince1970: 1_800_000_000)

    func run(
        _ mode: WatchdogMode,
        _ severities: [HealSeverity],
        action: RecoveryAction = .restartWorkers,
        healExecuted: Bool = true
    ) -> (actions: [WatchdogStateMachine.Action], machine: WatchdogStateMachine) {
        var machine = WatchdogStateMachine(configuration: .init(mode: mode))
        var actions: [WatchdogStateMachine.Action] = []
        for (index, severity) in severities.enumerated() {
            let at = self.now.addingTimeInterval(Double(index) * 10)
            let decided = machine.check(severity: severity, recommendedAction: action, now: at)
            if decided == .heal {
                machine.healFinished(executed: healExecuted, detail: "test", now: at)
            }
            actions.append(decided)
        }
        return (actions, machine)
    }

    static let critical = Array(repeating: HealSeverity.critical, count: 30)

    @Test func offNeverActs() {
        #expect(Set(self.run(.off, Self.critical).actions) == [.none])
    }

    @Test func planModeOnlyEverPlansEveryThirdCriticalCheck() {
        let actions = self.run(.plan, Self.critical).actions
        #expect(!actions.contains(.heal))
        #expect(
            actions.enumerated().filter { $0.element == .plan }.map(\.offset) == Array(stride(from: 2, to: 30, by: 3))
        )
    }

    @Test func twoCriticalChecksAreNotEnough() {
        #expect(
            self.run(.execute, [.critical, .critical, .warning, .critical, .critical, .ok]).actions.allSatisfy {
                $0 == .none
            }
        )
    }

    @Test func executeHealsOnTheThirdConsecutiveCriticalCheck() {
        let (actions, machine) = self.run(.execute, [.critical, .critical, .critical, .ok])
        #expect(actions == [.none, .none, .heal, .none])
        #expect(machine.ineffectiveHeals == 0)
        #expect(!machine.escalated)
        #expect(machine.lastAction?.kind == "heal")
    }

    @Test func twoIneffectiveHealsEscalateAndNothingMoreHappensUntilRecovery() {
        let (actions, machine) = self.run(.execute, Self.critical)
        #expect(actions.filter { $0 == .heal }.count == 2)
        #expect(actions.firstIndex(of: .escalate) == 8)
        #expect(actions.filter { $0 == .escalate }.count == 1)
        #expect(actions[9...].allSatisfy { $0 == .none })
        #expect(machine.escalated)
        #expect(machine.ineffectiveHeals == 2)

        var recovering = machine
        #expect(recovering.check(severity: .warning, recommendedAction: .monitor, now: self.now) == .recovered)
        #expect(!recovering.escalated)
        #expect(recovering.ineffectiveHeals == 0)
        let again = (0..<3).map { _ in
            recovering.check(severity: .critical, recommendedAction: .restartWorkers, now: self.now)
        }
        #expect(again == [.none, .none, .heal])
    }

    @Test func aHealThatHelpedResetsThePatience() {
        let severities: [HealSeverity] =
            [.critical, .critical, .critical, .critical, .critical, .critical, .ok]
            + Array(repeating: .critical, count: 6)
        let actions = self.run(.execute, severities).actions
        // heal, heal (first ineffective), recovery, then two more heals before any escalation.
        #expect(actions.filter { $0 == .heal }.count == 4)
        #expect(!actions.contains(.escalate))
    }

    @Test func aHealThatDidNotRunDoesNotCountAsIneffective() {
        let actions = self.run(.execute, Self.critical, healExecuted: false).actions
        #expect(!actions.contains(.escalate))
        #expect(actions.filter { $0 == .heal }.count == 10)
    }

    @Test(arguments: [RecoveryAction.escalate, .monitor, .fallbackModel])
    func whenThePlanDoesNotCallForARestartItEscalatesAtOnce(action: RecoveryAction) {
        let (actions, machine) = self.run(.execute, Self.critical, action: action)
        #expect(!actions.contains(.heal))
        #expect(actions[2] == .escalate)
        #expect(machine.lastAction?.detail?.contains(action.rawValue) == true)
    }
}
