/// A direct parser from bytes to `JSONValue`, for bodies passed through whole (`/v1/chat/completions`):
/// decoding `JSONValue` through `JSONDecoder` tries each type in turn and throws for every miss, which cost
/// about 7 % of the server's CPU per call.
extension JSONValue {
    /// Parses one JSON document (RFC 8259); nil when `bytes` are not one.
    public init?(parsing bytes: some Collection<UInt8>) {
        var parser = Parser(bytes: Array(bytes))
        guard let value = parser.value(depth: 0) else { return nil }
        parser.skipWhitespace()
        guard parser.index == parser.bytes.count else { return nil }
        self = value
    }

    private struct Parser {
        let bytes: [UInt8]
        var index = 0

        static let maximumDepth = 256

        mutating func skipWhitespace() {
            while self.index < self.bytes.count {
                switch self.bytes[self.index] {
                case 0x20, 0x0A, 0x0D, 0x09: self.index += 1
                default: return
                }
            }
        }

        mutating func value(depth: Int) -> JSONValue? {
            guard depth < Self.maximumDepth else { return nil }
            self.skipWhitespace()
            guard self.index < self.bytes.count else { return nil }
            switch self.bytes[self.index] {
            case UInt8(ascii: "{"): return self.object(depth: depth)
            case UInt8(ascii: "["): return self.array(depth: depth)
            case UInt8(ascii: "\""): return self.string().map(JSONValue.string)
            case UInt8(ascii: "t"): return self.literal("true", .bool(true))
            case UInt8(ascii: "f"): return self.literal("false", .bool(false))
            case UInt8(ascii: "n"): return self.literal("null", .null)
            default: return self.number()
            }
        }

        mutating func object(depth: Int) -> JSONValue? {
            self.index += 1
            var members: [String: JSONValue] = [:]
            self.skipWhitespace()
            if self.consume(UInt8(ascii: "}")) { return .object(members) }
            while true {
                self.skipWhitespace()
                guard self.index < self.bytes.count, self.bytes[self.index] == UInt8(ascii: "\""),
                    let key = self.string()
                else { return nil }
                self.skipWhitespace()
                guard self.consume(UInt8(ascii: ":")), let value = self.value(depth: depth + 1) else { return nil }
                members[key] = value
                self.skipWhitespace()
                if self.consume(UInt8(ascii: ",")) { continue }
                return self.consume(UInt8(ascii: "}")) ? .object(members) : nil
            }
        }

        mutating func array(depth: Int) -> JSONValue? {
            self.index += 1
            var elements: [JSONValue] = []
            self.skipWhitespace()
            if self.consume(UInt8(ascii: "]")) { return .array(elements) }
            while true {
                guard let element = self.value(depth: depth + 1) else { return nil }
                elements.append(element)
                self.skipWhitespace()
                if self.consume(UInt8(ascii: ",")) { continue }
                return self.consume(UInt8(ascii: "]")) ? .array(elements) : nil
            }
        }

        mutating func consume(_ byte: UInt8) -> Bool {
            guard self.index < self.bytes.count, self.bytes[self.index] == byte else { return false }
            self.index += 1
            return true
        }

        mutating func literal(_ text: StaticString, _ value: JSONValue) -> JSONValue? {
            let count = text.utf8CodeUnitCount
            guard self.index + count <= self.bytes.count else { return nil }
            let matches = text.withUTF8Buffer { $0.elementsEqual(self.bytes[self.index..<self.index + count]) }
            guard matches else { return nil }
            self.index += count
            return value
        }

        mutating func number() -> JSONValue? {
            let start = self.index
            // The grammar: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
            _ = self.consume(UInt8(ascii: "-"))
            guard self.digits(leadingZeroAllowed: false) else { return nil }
            if self.consume(UInt8(ascii: ".")), !self.digits(leadingZeroAllowed: true) { return nil }
            if self.consume(UInt8(ascii: "e")) || self.consume(UInt8(ascii: "E")) {
                if !self.consume(UInt8(ascii: "+")) { _ = self.consume(UInt8(ascii: "-")) }
                guard self.digits(leadingZeroAllowed: true) else { return nil }
            }
            guard let value = Double(String(decoding: self.bytes[start..<self.index], as: UTF8.self)),
                value.isFinite
            else { return nil }
            return .number(value)
        }

        mutating func digits(leadingZeroAllowed: Bool) -> Bool {
            let start = self.index
            while self.index < self.bytes.count, (0x30...0x39).contains(self.bytes[self.index]) { self.index += 1 }
            let count = self.index - start
            guard count > 0 else { return false }
            return leadingZeroAllowed || count == 1 || self.bytes[start] != 0x30
        }

        /// A string at `index` (its opening quote), escapes decoded; nil for bad escapes or control characters.
        mutating func string() -> String? {
            self.index += 1
            var text = ""
            var run = self.index
            while self.index < self.bytes.count {
                let byte = self.bytes[self.index]
                if byte == UInt8(ascii: "\"") {
                    text += String(decoding: self.bytes[run..<self.index], as: UTF8.self)
                    self.index += 1
                    return text
                }
                if byte < 0x20 { return nil }
                guard byte == UInt8(ascii: "\\") else {
                    self.index += 1
                    continue
                }
                text += String(decoding: self.bytes[run..<self.index], as: UTF8.self)
                self.index += 1
                guard self.index < self.bytes.count else { return nil }
                let escape = self.bytes[self.index]
                self.index += 1
                let scalar: Unicode.Scalar
                switch escape {
                case UInt8(ascii: "\""): scalar = "\""
                case UInt8(ascii: "\\"): scalar = "\\"
                case UInt8(ascii: "/"): scalar = "/"
                case UInt8(ascii: "b"): scalar = "\u{08}"
                case UInt8(ascii: "f"): scalar = "\u{0C}"
                case UInt8(ascii: "n"): scalar = "\n"
                case UInt8(ascii: "r"): scalar = "\r"
                case UInt8(ascii: "t"): scalar = "\t"
                case UInt8(ascii: "u"):
                    guard var code = self.hex4() else { return nil }
                    if (0xD800..<0xDC00).contains(code) {
                        // A high surrogate must be followed by an escaped low one.
                        guard self.consume(UInt8(ascii: "\\")), self.consume(UInt8(ascii: "u")),
                            let low = self.hex4(), (0xDC00..<0xE000).contains(low)
                        else { return nil }
                        code = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00)
                    }
                    guard let decoded = Unicode.Scalar(code) else { return nil }
                    scalar = decoded
                default: return nil
                }
                text.unicodeScalars.append(scalar)
                run = self.index
            }
            return nil
        }

        mutating func hex4() -> UInt32? {
            guard self.index + 4 <= self.bytes.count else { return nil }
            var value: UInt32 = 0
            for byte in self.bytes[self.index..<self.index + 4] {
                let digit: UInt8
                switch byte {
                case 0x30...0x39: digit = byte - 0x30
                case 0x41...0x46: digit = byte - 0x41 + 10
                case 0x61...0x66: digit = byte - 0x61 + 10
                default: return nil
                }
                value = value << 4 | UInt32(digit)
            }
            self.index += 4
            return value
        }
    }
}
