import ArcanosCore
import Foundation
import Testing

@Suite struct CommandRunnerTests {
    let runner = CommandRunner()

    @Test func theTaskGoesInOnStdinAndTheResultComesFromStdout() async throws {
        let result = try await self.runner.run(["/bin/sh", "-c", "tr a-z A-Z"], input: "hello workers")
        #expect(result == "HELLO WORKERS")
    }

    @Test func aNonZeroExitIsAFailureWithoutTheOutput() async throws {
        await #expect(throws: CommandFailure.exited(status: 3)) {
            try await self.runner.run(["/bin/sh", "-c", "echo secret-output; exit 3"], input: "")
        }
        #expect(!CommandFailure.exited(status: 3).description.contains("secret"))
    }

    @Test func aCommandKilledBySIGKILLIsAFailure() async throws {
        await #expect(throws: CommandFailure.killed(signal: SIGKILL)) {
            try await self.runner.run(["/bin/sh", "-c", "kill -9 $$"], input: "")
        }
    }

    @Test func aCommandThatIgnoresItsInputDoesNotBreakTheServer() async throws {
        let big = String(repeating: "x", count: 4 << 20)
        let result = try await self.runner.run(["/bin/sh", "-c", "echo ok"], input: big)
        #expect(result == "ok")
    }

    @Test func theCommandDoesNotSeeTheServersEnvironment() async throws {
        let result = try await self.runner.run(["/bin/sh", "-c", "env | cut -d= -f1 | sort | tr '\\n' ' '"], input: "")
        #expect(!result.contains("OPENAI") && !result.contains("ARCANOS") && !result.contains("HOME "), "\(result)")
    }

    @Test func outputOverTheLimitFails() async throws {
        let small = CommandRunner(maximumOutputBytes: 10)
        await #expect(throws: CommandFailure.outputTooLarge(limit: 10)) {
            try await small.run(["/bin/sh", "-c", "echo 0123456789abcdef"], input: "")
        }
    }

    @Test(.timeLimit(.minutes(1)))
    func cancellingKillsTheWholeProcessGroup() async throws {
        let started = ContinuousClock.now
        // `sleep` is a child of the shell and holds stdout open: only a group kill ends this quickly.
        let task = Task { try await self.runner.run(["/bin/sh", "-c", "sleep 30; echo done"], input: "") }
        await Task.yield()
        task.cancel()
        await #expect(throws: CancellationError.self) { try await task.value }
        #expect(started.duration(to: .now) < .seconds(10))
    }

    @Test func aMissingExecutableFailsToLaunch() async throws {
        await #expect(throws: CommandFailure.launchFailed) {
            try await self.runner.run(["/no/such/binary"], input: "")
        }
    }
}
