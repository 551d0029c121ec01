import Foundation

/// Ready when the data directory exists and is writable: state files cannot be persisted otherwise.
public struct DataDirectoryReadiness: ReadinessReporting {
    public let path: String

    public init(path: String) {
        self.path = path
    }

    public func notReadyReasons() async -> [String] {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: self.path, isDirectory: &isDirectory), isDirectory.boolValue else {
            return ["data directory does not exist"]
        }
        guard FileManager.default.isWritableFile(atPath: self.path) else {
            return ["data directory is not writable"]
        }
        return []
    }
}
