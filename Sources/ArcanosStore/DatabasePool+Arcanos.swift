import Foundation
import GRDB

extension DatabasePool {
    /// `arcanos.sqlite` as Arcanos opens it, once per process: WAL (readers never block the writer), a
    /// writer that waits up to 5 s for another process's transaction instead of failing, and
    /// `synchronous = NORMAL`, so a committed transaction survives a process crash (`kill -9`); only an OS
    /// crash or power loss can drop the last ones, never corrupt the file. Creates the directory if needed.
    static func arcanos(path: String) throws -> DatabasePool {
        var configuration = Configuration()
        configuration.busyMode = .timeout(5)
        configuration.prepareDatabase { db in
            try db.execute(sql: "PRAGMA synchronous = NORMAL")
        }
        let directory = (path as NSString).deletingLastPathComponent
        if !directory.isEmpty {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        }
        return try DatabasePool(path: path, configuration: configuration)
    }
}
