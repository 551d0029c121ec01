/// Splits a byte stream of server-sent events into whole events, so that each one is passed on as soon as
/// it is complete and an error event can always be written at an event boundary. A pure value: bytes in,
/// events out.
public struct ServerSentEventParser: Sendable {
    /// One event: its bytes as they came (the blank line that ends it included) and its `data` lines joined.
    public struct Event: Sendable, Hashable {
        public var raw: [UInt8]
        public var data: [UInt8]
    }

    private var buffer: [UInt8] = []
    /// Where the search for the next event end resumes: bytes before it are known not to end one.
    private var scanned = 0

    public init() {}

    /// Bytes received but not yet part of a whole event.
    public var pendingByteCount: Int { self.buffer.count }

    /// Adds `bytes` and returns the events they complete, in order.
    public mutating func append(_ bytes: some Collection<UInt8>) -> [Event] {
        self.buffer.append(contentsOf: bytes)
        var events: [Event] = []
        var start = 0
        var index = max(self.scanned, 0)
        while index < self.buffer.count {
            // An event ends at a blank line: "\n\n", or "\r\n\r\n" (either ends with "\n" after a line end).
            if self.buffer[index] == UInt8(ascii: "\n"), let end = self.blankLineEnd(newlineAt: index, from: start) {
                let raw = Array(self.buffer[start..<end])
                events.append(Event(raw: raw, data: Self.data(of: raw)))
                start = end
                index = end
                continue
            }
            index += 1
        }
        if start > 0 { self.buffer.removeFirst(start) }
        // Keep the last three bytes unscanned: they may begin a blank line that the next bytes finish.
        self.scanned = max(0, self.buffer.count - 3)
        return events
    }

    /// The end of the event when the `\n` at `index` finishes a blank line.
    private func blankLineEnd(newlineAt index: Int, from start: Int) -> Int? {
        if index >= start + 1, self.buffer[index - 1] == UInt8(ascii: "\n") { return index + 1 }
        if index >= start + 3, self.buffer[index - 1] == UInt8(ascii: "\r"),
            self.buffer[index - 2] == UInt8(ascii: "\n"),
            self.buffer[index - 3] == UInt8(ascii: "\r")
        {
            return index + 1
        }
        return nil
    }

    /// The `data:` lines of an event, joined by `\n` (the SSE rule), without the field name and one space.
    static func data(of raw: [UInt8]) -> [UInt8] {
        var data: [UInt8] = []
        var first = true
        for line in raw.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: true) {
            var line = line[...]
            if line.last == UInt8(ascii: "\r") { line = line.dropLast() }
            guard line.starts(with: "data:".utf8) else { continue }
            var value = line.dropFirst(5)
            if value.first == UInt8(ascii: " ") { value = value.dropFirst() }
            if !first { data.append(UInt8(ascii: "\n")) }
            data.append(contentsOf: value)
            first = false
        }
        return data
    }
}
