import Foundation

/// How every persistent heal audit keeps a record: redacted by the one redactor (secrets, tokens, prompt text
/// past 120 characters), without its sequence (the store assigns it), as JSON with dates in milliseconds
/// (exact round trips, unlike ISO strings without sub-millisecond digits).
extension HealAuditRecord {
    /// The record as it will be read back (sequence unset) and its JSON. A record that cannot be redacted is
    /// not stored: the caller logs the failed append, the record stays off disk.
    public func storedForm(redactor: Redactor) throws -> (record: HealAuditRecord, json: String) {
        var record: HealAuditRecord
        do {
            record = try redactor.redact(self)
        } catch {
            throw ArcanosError(.internalError, "Heal audit record could not be redacted; not stored", underlying: error)
        }
        record.sequence = nil
        return (record, String(decoding: try Self.storedEncoder.encode(record), as: UTF8.self))
    }

    /// A record read back from its stored JSON, with the sequence the store assigned.
    public init(storedJSON json: String, sequence: Int64) throws {
        self = try Self.storedDecoder.decode(HealAuditRecord.self, from: Data(json.utf8))
        self.sequence = sequence
    }

    private static let storedEncoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        encoder.dateEncodingStrategy = .millisecondsSince1970
        return encoder
    }()

    private static let storedDecoder: JSONDecoder = {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .millisecondsSince1970
        return decoder
    }()
}
