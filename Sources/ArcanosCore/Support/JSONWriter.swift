import Foundation

/// Writes JSON text directly, for the documents of the `/ask` hot path: the answer, the degraded answer
/// and the request to the model. Foundation's `JSONEncoder` takes about five times as long for these small
/// documents on Linux (`bench/hotpath.sh`, bench/RESULTS.md). Everything else encodes with `JSONEncoder`.
///
/// Members come out in the order they are written; strings are escaped as RFC 8259 requires, `/` is not.
public struct JSONWriter: Sendable {
    public private(set) var bytes: [UInt8] = []
    /// Whether the innermost open container has no member yet.
    private var isFirst = true
    /// Whether a key was just written, so the next value needs no separator.
    private var afterKey = false

    public init(capacity: Int = 256) {
        self.bytes.reserveCapacity(capacity)
    }

    /// Writes `{`, the members `body` writes, and `}`.
    public mutating func object(_ body: (inout JSONWriter) -> Void) {
        self.container(open: UInt8(ascii: "{"), close: UInt8(ascii: "}"), body)
    }

    /// Writes `[`, the elements `body` writes, and `]`.
    public mutating func array(_ body: (inout JSONWriter) -> Void) {
        self.container(open: UInt8(ascii: "["), close: UInt8(ascii: "]"), body)
    }

    /// Writes a member name; the next call writes its value.
    public mutating func key(_ name: String) {
        self.separate()
        self.writeString(name)
        self.bytes.append(UInt8(ascii: ":"))
        self.afterKey = true
    }

    public mutating func string(_ value: String) {
        self.beginValue()
        self.writeString(value)
    }

    public mutating func string(_ value: String?) {
        guard let value else { return self.null() }
        self.string(value)
    }

    public mutating func number(_ value: Int) {
        self.beginValue()
        self.bytes.append(contentsOf: String(value).utf8)
    }

    /// Integral values below 10^15 as integers, as `JSONValue` encodes them; NaN and infinities as `null`.
    public mutating func number(_ value: Double) {
        guard value.isFinite else { return self.null() }
        if value.rounded() == value, abs(value) < 1e15 { return self.number(Int(value)) }
        self.beginValue()
        self.bytes.append(contentsOf: value.description.utf8)
    }

    public mutating func bool(_ value: Bool) {
        self.beginValue()
        self.bytes.append(contentsOf: (value ? "true" : "false").utf8)
    }

    public mutating func null() {
        self.beginValue()
        self.bytes.append(contentsOf: "null".utf8)
    }

    /// A date as `Date.iso8601Milliseconds`, the format of every body.
    public mutating func date(_ value: Date) {
        self.string(value.iso8601Milliseconds)
    }

    /// Object members in key order, so that the same value always writes the same text.
    public mutating func json(_ value: JSONValue) {
        switch value {
        case .null: self.null()
        case .bool(let value): self.bool(value)
        case .number(let value): self.number(value)
        case .string(let value): self.string(value)
        case .array(let elements):
            self.array { writer in
                for element in elements { writer.json(element) }
            }
        case .object(let members):
            self.object { writer in
                for (key, member) in members.sorted(by: { $0.key < $1.key }) {
                    writer.key(key)
                    writer.json(member)
                }
            }
        }
    }

    private mutating func container(open: UInt8, close: UInt8, _ body: (inout JSONWriter) -> Void) {
        self.beginValue()
        self.bytes.append(open)
        self.isFirst = true
        body(&self)
        self.bytes.append(close)
        // The container is a member of its parent, which therefore has one now.
        self.isFirst = false
        self.afterKey = false
    }

    private mutating func beginValue() {
        if self.afterKey {
            self.afterKey = false
        } else {
            self.separate()
        }
    }

    private mutating func separate() {
        if !self.isFirst { self.bytes.append(UInt8(ascii: ",")) }
        self.isFirst = false
    }

    private mutating func writeString(_ value: String) {
        self.bytes.append(UInt8(ascii: "\""))
        let utf8 = value.utf8
        // Most strings need no escaping: copy them whole.
        if !utf8.contains(where: { $0 < 0x20 || $0 == UInt8(ascii: "\"") || $0 == UInt8(ascii: "\\") }) {
            self.bytes.append(contentsOf: utf8)
        } else {
            for byte in utf8 {
                switch byte {
                case UInt8(ascii: "\""): self.bytes.append(contentsOf: #"\""#.utf8)
                case UInt8(ascii: "\\"): self.bytes.append(contentsOf: #"\\"#.utf8)
                case 0x0A: self.bytes.append(contentsOf: #"\n"#.utf8)
                case 0x0D: self.bytes.append(contentsOf: #"\r"#.utf8)
                case 0x09: self.bytes.append(contentsOf: #"\t"#.utf8)
                case 0x08: self.bytes.append(contentsOf: #"\b"#.utf8)
                case 0x0C: self.bytes.append(contentsOf: #"\f"#.utf8)
                case ..<0x20:
                    let hex = Array("0123456789abcdef".utf8)
                    self.bytes.append(contentsOf: #"\u00"#.utf8)
                    self.bytes.append(hex[Int(byte >> 4)])
                    self.bytes.append(hex[Int(byte & 0x0F)])
                default: self.bytes.append(byte)
                }
            }
        }
        self.bytes.append(UInt8(ascii: "\""))
    }
}
