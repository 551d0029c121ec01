import Foundation
import Synchronization

/// Which singleton roles this replica may act on now, as the cluster service last learned: a role is held
/// until the lease it was granted ends, less a margin for clocks that disagree a little. Checked before every
/// act, so a replica that stopped renewing (the database away, the process stalled) stops acting by itself
/// before anyone else can take over; it never acts on a lease it only remembers.
public final class Leadership: Sendable {
    /// Taken off every lease's end before it is trusted.
    public static let safetyMargin: Duration = .seconds(1)

    private let heldUntil = Mutex<[SingletonRole: Date]>([:])

    public init() {}

    /// Whether this replica may do `role`'s work at `now`.
    public func holds(_ role: SingletonRole, now: Date) -> Bool {
        guard let until = self.heldUntil.withLock({ $0[role] }) else { return false }
        return now < until.addingTimeInterval(-Self.safetyMargin.seconds)
    }

    /// The roles held at `now`.
    public func roles(now: Date) -> [SingletonRole] {
        SingletonRole.allCases.filter { self.holds($0, now: now) }
    }

    /// `role`'s lease was granted (or renewed) until `until`.
    public func granted(_ role: SingletonRole, until: Date) {
        self.heldUntil.withLock { $0[role] = until }
    }

    /// `role`'s lease was refused or could not be renewed.
    public func lost(_ role: SingletonRole) {
        self.heldUntil.withLock { $0[role] = nil }
    }
}

/// Whether singleton work may run here: always on a server alone, only while this replica leads in a cluster.
public enum SingletonGate: Sendable {
    case alone
    case cluster(Leadership)

    public func mayAct(_ role: SingletonRole, now: Date = Date()) -> Bool {
        switch self {
        case .alone: true
        case .cluster(let leadership): leadership.holds(role, now: now)
        }
    }
}
