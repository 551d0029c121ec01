import ArcanosCore
import Foundation
import GRDB

/// Rows of the `jobs` table: snake_case columns, dates as integer milliseconds since 1970 (exact, sortable,
/// and what a PostgreSQL `bigint` column would hold). Written out by hand rather than through Codable with
/// `convertFromSnakeCase`: a claim decodes a row on every job, and key conversion per row showed up in
/// profiles of the job benchmark.
extension Job: FetchableRecord, PersistableRecord {
    public static var databaseTableName: String { "jobs" }

    public init(row: Row) throws {
        self.init(
            id: row["id"],
            worker: row["worker"],
            input: String(exactDatabaseText: row["input"]),
            status: Status(rawValue: row["status"]) ?? .failed,
            attempts: row["attempts"],
            maxAttempts: row["max_attempts"],
            fence: row["fence"],
            result: (row["result"] as Data?).map(String.init(exactDatabaseText:)),
            error: row["error"],
            availableAt: Date(storedMilliseconds: row["available_at"]),
            leaseOwner: row["lease_owner"],
            leaseExpiresAt: (row["lease_expires_at"] as Int64?).map(Date.init(storedMilliseconds:)),
            startedAt: (row["started_at"] as Int64?).map(Date.init(storedMilliseconds:)),
            finishedAt: (row["finished_at"] as Int64?).map(Date.init(storedMilliseconds:)),
            createdAt: Date(storedMilliseconds: row["created_at"]),
            updatedAt: Date(storedMilliseconds: row["updated_at"])
        )
    }

    public func encode(to container: inout PersistenceContainer) throws {
        container["id"] = self.id
        container["worker"] = self.worker
        container["input"] = self.input.exactDatabaseValue
        container["status"] = self.status.rawValue
        container["attempts"] = self.attempts
        container["max_attempts"] = self.maxAttempts
        container["fence"] = self.fence
        container["result"] = self.result?.exactDatabaseValue
        container["error"] = self.error
        container["available_at"] = self.availableAt.storedMilliseconds
        container["lease_owner"] = self.leaseOwner
        container["lease_expires_at"] = self.leaseExpiresAt?.storedMilliseconds
        container["started_at"] = self.startedAt?.storedMilliseconds
        container["finished_at"] = self.finishedAt?.storedMilliseconds
        container["created_at"] = self.createdAt.storedMilliseconds
        container["updated_at"] = self.updatedAt.storedMilliseconds
    }
}

extension String {
    /// This text as the store writes it, NUL and all. GRDB binds and reads a `String` as a C string, which ends
    /// at the first NUL (`"abc\u{0}def"` came back as `"abc"`); text holding one is written as its UTF-8 bytes
    /// (a BLOB) instead, and every other text stays TEXT.
    var exactDatabaseValue: DatabaseValue {
        self.utf8.contains(0) ? Data(self.utf8).databaseValue : self.databaseValue
    }

    /// Text read back byte for byte, whether it was stored as TEXT or as a BLOB.
    init(exactDatabaseText data: Data) {
        self = String(decoding: data, as: UTF8.self)
    }
}
