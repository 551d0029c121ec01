/// A bounded least-recently-used map whose entries expire, as a pure value that takes `now`.
/// Degraded mode serves the last good answer for a prompt from it.
public struct ResponseCache<Value: Sendable, Instant: InstantProtocol>: Sendable where Instant.Duration == Duration {
    private struct Entry: Sendable {
        var key: String
        var value: Value
        var storedAt: Instant
        var newer: Int?
        var older: Int?
    }

    public let capacity: Int
    public let timeToLive: Duration
    private var slots: [Entry] = []
    private var index: [String: Int] = [:]
    private var newest: Int?
    private var oldest: Int?

    public init(capacity: Int, timeToLive: Duration) {
        self.capacity = max(capacity, 0)
        self.timeToLive = timeToLive
    }

    public var count: Int { self.index.count }

    /// The value stored for `key` and when, if it has not expired; marks it most recently used.
    public mutating func value(for key: String, now: Instant) -> (value: Value, storedAt: Instant)? {
        guard let slot = self.index[key] else { return nil }
        let entry = self.slots[slot]
        guard entry.storedAt.duration(to: now) <= self.timeToLive else { return nil }
        self.moveToFront(slot)
        return (entry.value, entry.storedAt)
    }

    public mutating func store(_ value: Value, for key: String, now: Instant) {
        guard self.capacity > 0 else { return }
        if let slot = self.index[key] {
            self.slots[slot].value = value
            self.slots[slot].storedAt = now
            self.moveToFront(slot)
            return
        }
        let slot: Int
        if self.slots.count < self.capacity {
            slot = self.slots.count
            self.slots.append(Entry(key: key, value: value, storedAt: now))
        } else {
            // Reuse the least recently used slot.
            slot = self.oldest!
            self.unlink(slot)
            self.index[self.slots[slot].key] = nil
            self.slots[slot] = Entry(key: key, value: value, storedAt: now)
        }
        self.index[key] = slot
        self.linkAtFront(slot)
    }

    private mutating func moveToFront(_ slot: Int) {
        guard self.newest != slot else { return }
        self.unlink(slot)
        self.linkAtFront(slot)
    }

    private mutating func unlink(_ slot: Int) {
        let entry = self.slots[slot]
        if let newer = entry.newer { self.slots[newer].older = entry.older } else { self.newest = entry.older }
        if let older = entry.older { self.slots[older].newer = entry.newer } else { self.oldest = entry.newer }
        self.slots[slot].newer = nil
        self.slots[slot].older = nil
    }

    private mutating func linkAtFront(_ slot: Int) {
        self.slots[slot].older = self.newest
        self.slots[slot].newer = nil
        if let newest = self.newest { self.slots[newest].newer = slot }
        self.newest = slot
        if self.oldest == nil { self.oldest = slot }
    }
}
