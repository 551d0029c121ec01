import Foundation
import Synchronization

/// Runs a command module: the task on stdin, the result from stdout. The process gets its own process group
/// (Foundation's `Process` spawns it that way), so cancelling the calling task SIGKILLs the command and
/// anything it started.
public struct CommandRunner: Sendable {
    /// Larger outputs fail the task rather than filling memory.
    public var maximumOutputBytes: Int
    /// What the command sees: never this server's own environment, which holds API keys.
    public var environment: [String: String]

    public init(
        maximumOutputBytes: Int = 1 << 20,
        environment: [String: String] = ["PATH": "/usr/local/bin:/usr/bin:/bin", "LANG": "C.UTF-8"]
    ) {
        self.maximumOutputBytes = maximumOutputBytes
        self.environment = environment
    }

    /// Runs `arguments` (`arguments[0]` an absolute path) with `input` on stdin and returns stdout without its
    /// trailing newlines. Throws `CommandFailure`, or `CancellationError` once the process group was killed.
    public func run(_ arguments: [String], input: String, workingDirectory: String? = nil) async throws -> String {
        Self.ignoreBrokenPipes
        guard let executable = arguments.first else { throw CommandFailure.launchFailed }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = Array(arguments.dropFirst())
        process.environment = self.environment
        if let workingDirectory { process.currentDirectoryURL = URL(fileURLWithPath: workingDirectory) }
        let stdin = Pipe()
        let stdout = Pipe()
        process.standardInput = stdin
        process.standardOutput = stdout
        process.standardError = FileHandle.nullDevice

        let running = RunningCommand()
        let exit = OneShot<CommandExit>()
        process.terminationHandler = { process in
            exit.resolve(
                CommandExit(status: process.terminationStatus, signaled: process.terminationReason == .uncaughtSignal)
            )
        }
        return try await withTaskCancellationHandler {
            do {
                try process.run()
            } catch {
                throw CommandFailure.launchFailed
            }
            running.started(pid: process.processIdentifier)
            let output = OneShot<(Data, Bool)>()
            let limit = self.maximumOutputBytes
            // Pipes block: feed and drain them off the cooperative pool, concurrently, so a command that writes
            // before it reads cannot deadlock with us.
            Thread.detachNewThread {
                try? stdin.fileHandleForWriting.write(contentsOf: Data(input.utf8))
                try? stdin.fileHandleForWriting.close()
            }
            Thread.detachNewThread {
                output.resolve(Self.drain(stdout.fileHandleForReading, limit: limit))
            }
            let (data, truncated) = await output.value
            let status = await exit.value
            running.finished()
            try Task.checkCancellation()
            if status.signaled { throw CommandFailure.killed(signal: status.status) }
            if status.status != 0 { throw CommandFailure.exited(status: status.status) }
            if truncated { throw CommandFailure.outputTooLarge(limit: limit) }
            var text = String(decoding: data, as: UTF8.self)
            while text.last?.isNewline == true { text.removeLast() }
            return text
        } onCancel: {
            running.kill()
        }
    }

    private static func drain(_ handle: FileHandle, limit: Int) -> (Data, Bool) {
        var data = Data()
        var truncated = false
        while let chunk = try? handle.read(upToCount: 64 * 1024), !chunk.isEmpty {
            if data.count + chunk.count > limit {
                truncated = true  // keep draining so the command is not blocked on a full pipe
            } else {
                data.append(chunk)
            }
        }
        try? handle.close()
        return (data, truncated)
    }

    /// A command that exits without reading its stdin must not kill the server with SIGPIPE when we write.
    private static let ignoreBrokenPipes: Void = {
        signal(SIGPIPE, SIG_IGN)
    }()
}

/// Why a command task failed. Descriptions are safe to show: they never contain the command's output.
public enum CommandFailure: Error, Sendable, Hashable, CustomStringConvertible {
    case launchFailed
    case exited(status: Int32)
    case killed(signal: Int32)
    case outputTooLarge(limit: Int)

    public var description: String {
        switch self {
        case .launchFailed: "the command could not be started"
        case .exited(let status): "the command exited with status \(status)"
        case .killed(let signal): "the command was killed by signal \(signal)"
        case .outputTooLarge(let limit): "the command wrote more than \(limit) bytes"
        }
    }
}

struct CommandExit: Sendable {
    var status: Int32
    var signaled: Bool
}

/// The pid of a running command, so that cancellation can kill its process group exactly once it exists.
final class RunningCommand: Sendable {
    private enum State {
        case notStarted
        case running(pid_t)
        case killRequested
        case finished
    }

    private let state = Mutex(State.notStarted)

    func started(pid: pid_t) {
        let killNow = self.state.withLock { state -> Bool in
            if case .killRequested = state { return true }
            state = .running(pid)
            return false
        }
        if killNow { Self.killGroup(pid) }
    }

    func kill() {
        let pid = self.state.withLock { state -> pid_t? in
            switch state {
            case .running(let pid): return pid
            case .notStarted:
                state = .killRequested
                return nil
            case .killRequested, .finished: return nil
            }
        }
        if let pid { Self.killGroup(pid) }
    }

    func finished() {
        self.state.withLock { $0 = .finished }
    }

    private static func killGroup(_ pid: pid_t) {
        // The command leads its own group (pgid == pid): this reaches children it forked too.
        _ = Foundation.kill(-pid, SIGKILL)
        _ = Foundation.kill(pid, SIGKILL)
    }
}
