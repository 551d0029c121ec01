import Foundation

/// A bounded map of entries that expire and can be taken once, as a pure value that takes `now`. It holds the
/// gate's challenges and one-time tokens: full, it forgets its oldest entry, so callers that never come back
/// cannot grow memory.
public struct SingleUseStore<Value: Sendable>: Sendable {
    private struct Entry: Sendable {
        var value: Value
        var expiresAt: Date
        var sequence: UInt64
    }

    public let capacity: Int
    private var entries: [String: Entry] = [:]
    /// Insertion order: entries are evicted from `oldestSequence` up. Taken entries leave a gap that eviction
    /// skips, so each sequence number is visited at most once.
    private var keysBySequence: [UInt64: String] = [:]
    private var nextSequence: UInt64 = 0
    private var oldestSequence: UInt64 = 0

    public init(capacity: Int) {
        precondition(capacity >= 1, "capacity must be at least 1")
        self.capacity = capacity
    }

    /// Entries held, expired ones not yet dropped included.
    public var count: Int { self.entries.count }

    /// Stores `value` under `key` until `expiresAt`, dropping expired entries and, when full, the oldest.
    public mutating func insert(_ value: Value, key: String, expiresAt: Date, now: Date) {
        self.dropExpired(now: now)
        if let existing = self.entries.removeValue(forKey: key) {
            self.keysBySequence[existing.sequence] = nil
        }
        while self.entries.count >= self.capacity {
            self.evictOldest()
        }
        self.entries[key] = Entry(value: value, expiresAt: expiresAt, sequence: self.nextSequence)
        self.keysBySequence[self.nextSequence] = key
        self.nextSequence += 1
    }

    /// Removes the entry under `key` whatever happens next, and returns its value when it had not expired.
    public mutating func take(_ key: String, now: Date) -> Value? {
        guard let entry = self.entries.removeValue(forKey: key) else { return nil }
        self.keysBySequence[entry.sequence] = nil
        return now < entry.expiresAt ? entry.value : nil
    }

    /// Drops expired entries from the oldest end. With one time-to-live per store, entries expire in insertion
    /// order, so this stops at the first live one; anything it misses expires on `take` or is evicted.
    public mutating func dropExpired(now: Date) {
        while self.oldestSequence < self.nextSequence {
            guard let key = self.keysBySequence[self.oldestSequence] else {
                self.oldestSequence += 1
                continue
            }
            guard let entry = self.entries[key], entry.expiresAt <= now else { return }
            self.entries[key] = nil
            self.keysBySequence[self.oldestSequence] = nil
            self.oldestSequence += 1
        }
    }

    private mutating func evictOldest() {
        while self.oldestSequence < self.nextSequence {
            let sequence = self.oldestSequence
            self.oldestSequence += 1
            if let key = self.keysBySequence.removeValue(forKey: sequence) {
                self.entries[key] = nil
                return
            }
        }
    }
}
