import ArcanosCore
import Foundation

/// Whole-file JSON persistence that never leaves a half-written file: write a temporary file beside the
/// target, fsync it, rename it over the target, fsync the directory.
public enum AtomicFile {
    public static func write(_ data: Data, to path: String) throws {
        let url = URL(fileURLWithPath: path)
        let directory = url.deletingLastPathComponent().path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let temporary = directory + "/." + url.lastPathComponent + ".tmp-\(UInt32.random(in: .min ... .max))"
        let descriptor = open(temporary, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        guard descriptor >= 0 else { throw Self.error("cannot create \(temporary)") }
        var written = 0
        let ok = data.withUnsafeBytes { buffer -> Bool in
            while written < buffer.count {
                let result = Foundation.write(descriptor, buffer.baseAddress! + written, buffer.count - written)
                if result < 0 {
                    if errno == EINTR { continue }
                    return false
                }
                written += result
            }
            return fsync(descriptor) == 0
        }
        close(descriptor)
        guard ok else {
            unlink(temporary)
            throw Self.error("cannot write \(temporary)")
        }
        guard rename(temporary, path) == 0 else {
            unlink(temporary)
            throw Self.error("cannot rename over \(path)")
        }
        let directoryDescriptor = open(directory, O_RDONLY)
        if directoryDescriptor >= 0 {
            fsync(directoryDescriptor)
            close(directoryDescriptor)
        }
    }

    /// Moves an unreadable file aside as `<name>.corrupt-<timestamp>` and returns the new path.
    public static func quarantine(_ path: String, now: Date) throws -> String {
        let stamp = Int64(now.timeIntervalSince1970 * 1000)
        let target = "\(path).corrupt-\(stamp)"
        guard rename(path, target) == 0 else { throw Self.error("cannot move \(path) aside") }
        return target
    }

    private static func error(_ message: String) -> ArcanosError {
        ArcanosError(
            .stateCorrupted,
            "State file could not be written",
            underlying: POSIXFailure(message: message, code: errno)
        )
    }
}

/// A failed system call, for logs.
struct POSIXFailure: Error, CustomStringConvertible {
    var message: String
    var code: Int32
    var description: String { "\(self.message) (errno \(self.code))" }
}
