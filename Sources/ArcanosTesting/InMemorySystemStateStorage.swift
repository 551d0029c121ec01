import ArcanosCore
import Foundation
import Synchronization

/// `SystemStateStorage` in memory, with the quarantined documents kept for inspection.
public final class InMemorySystemStateStorage: SystemStateStorage {
    private struct State {
        var data: Data?
        var quarantined: [String: Data] = [:]
        var writes = 0
    }

    private let state: Mutex<State>

    public init(contents: String? = nil) {
        self.state = Mutex(State(data: contents.map { Data($0.utf8) }))
    }

    public var contents: String? { self.state.withLock { $0.data.map { String(decoding: $0, as: UTF8.self) } } }
    public var quarantined: [String: Data] { self.state.withLock { $0.quarantined } }
    public var writes: Int { self.state.withLock { $0.writes } }

    public func read() throws -> Data? { self.state.withLock { $0.data } }

    public func write(_ data: Data) throws {
        self.state.withLock {
            $0.data = data
            $0.writes += 1
        }
    }

    public func quarantine(now: Date) throws -> String {
        let name = "\(SystemStateManager.fileName).corrupt-\(Int64(now.timeIntervalSince1970 * 1000))"
        self.state.withLock {
            $0.quarantined[name] = $0.data
            $0.data = nil
        }
        return name
    }
}
