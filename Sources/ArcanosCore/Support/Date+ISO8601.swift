import Foundation

extension Date {
    /// `2026-11-29T18:51:24.123Z`: how every body, log line and state file writes an instant.
    public var iso8601Milliseconds: String {
        Self.iso8601MillisecondsStyle.format(self)
    }

    // Built once: making the style costs as much as formatting with it.
    private static let iso8601MillisecondsStyle = Date.ISO8601FormatStyle(includingFractionalSeconds: true)
}

extension JSONEncoder.DateEncodingStrategy {
    /// Dates as `Date.iso8601Milliseconds` strings.
    public static var iso8601Milliseconds: Self {
        .custom { date, encoder in
            var container = encoder.singleValueContainer()
            try container.encode(date.iso8601Milliseconds)
        }
    }
}
