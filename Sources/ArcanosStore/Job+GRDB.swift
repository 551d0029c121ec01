import ArcanosCore
import Foundation
import GRDB

/// Rows of the `jobs` table: snake_case columns, dates as integer milliseconds since 1970 (exact, sortable,
/// and the same representation a PostgreSQL `bigint` column would use).
extension Job: FetchableRecord, PersistableRecord {
    public static var databaseTableName: String { "jobs" }
    public static var databaseColumnDecodingStrategy: DatabaseColumnDecodingStrategy { .convertFromSnakeCase }
    public static var databaseColumnEncodingStrategy: DatabaseColumnEncodingStrategy { .convertToSnakeCase }
    public static func databaseDateDecodingStrategy(for column: String) -> DatabaseDateDecodingStrategy {
        .millisecondsSince1970
    }
    public static func databaseDateEncodingStrategy(for column: String) -> DatabaseDateEncodingStrategy {
        .millisecondsSince1970
    }
}

extension Date {
    /// Milliseconds since 1970, rounded down: how the store writes dates, and what it compares them with.
    var storedMilliseconds: Int64 { Int64((self.timeIntervalSince1970 * 1000).rounded(.down)) }

    /// This date as the store will read it back.
    var storedPrecision: Date { Date(timeIntervalSince1970: Double(self.storedMilliseconds) / 1000) }
}
