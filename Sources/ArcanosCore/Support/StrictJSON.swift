/// The strict-JSON rule every request body passes before any decoder reads it: an object may not name the
/// same key twice. Decoders disagree about duplicates (Foundation keeps the first value, Python's and
/// JavaScript's parsers the last), so `{"execute": true, "execute": false}` would mean one thing here and
/// another to the client that sent it; refusing it removes the ambiguity.
public enum StrictJSON {
    /// The first key that an object of `bytes` repeats (escapes decoded, so `"a"` and `"\u0061"` are the
    /// same key), or nil when there is none. Text that is not JSON is left to the decoder: the scan stops at
    /// the first byte it cannot place and reports nothing.
    public static func firstDuplicateKey(in bytes: some Sequence<UInt8>) -> String? {
        // Scanned where the bytes lie (a request body's buffer): no copy unless they are not contiguous.
        if let found = bytes.withContiguousStorageIfAvailable({ Self.firstDuplicateKey(inBuffer: $0) }) {
            return found
        }
        return Array(bytes).withUnsafeBufferPointer { Self.firstDuplicateKey(inBuffer: $0) }
    }

    private static func firstDuplicateKey(inBuffer bytes: UnsafeBufferPointer<UInt8>) -> String? {
        var scanner = Scanner(bytes: bytes)
        return scanner.firstDuplicateKey()
    }

    private struct Scanner {
        let bytes: UnsafeBufferPointer<UInt8>
        var index = 0
        /// Whether each open container is an object (else an array), innermost last.
        var isObject: [Bool] = []
        /// The keys seen in each open object, innermost last; changed in place, never copied.
        var keys: [Set<String>] = []
        /// The next string in the innermost object is a key (just after `{` or `,`).
        var expectingKey = false

        init(bytes: UnsafeBufferPointer<UInt8>) {
            self.bytes = bytes
        }

        mutating func firstDuplicateKey() -> String? {
            while self.index < self.bytes.count {
                let byte = self.bytes[self.index]
                switch byte {
                case UInt8(ascii: "{"):
                    self.isObject.append(true)
                    self.keys.append([])
                    self.expectingKey = true
                    self.index += 1
                case UInt8(ascii: "["):
                    self.isObject.append(false)
                    self.expectingKey = false
                    self.index += 1
                case UInt8(ascii: "}"), UInt8(ascii: "]"):
                    guard let wasObject = self.isObject.popLast() else { return nil }
                    if wasObject { self.keys.removeLast() }
                    self.expectingKey = false
                    self.index += 1
                case UInt8(ascii: ","):
                    if self.isObject.last == true { self.expectingKey = true }
                    self.index += 1
                case UInt8(ascii: "\""):
                    if self.expectingKey, self.isObject.last == true {
                        guard let key = self.readString() else { return nil }
                        guard self.keys[self.keys.count - 1].insert(key).inserted else { return key }
                        self.expectingKey = false
                    } else {
                        // A value: only its end matters, and the decoder judges its contents.
                        guard self.skipString() else { return nil }
                    }
                default:
                    // Whitespace, `:`, numbers and literals: nothing to track.
                    self.index += 1
                }
            }
            return nil
        }

        /// Moves past the string starting at the quote under `index`; false when it does not end.
        mutating func skipString() -> Bool {
            self.index += 1
            while self.index < self.bytes.count {
                switch self.bytes[self.index] {
                case UInt8(ascii: "\""):
                    self.index += 1
                    return true
                case UInt8(ascii: "\\"):
                    self.index += 2
                default:
                    self.index += 1
                }
            }
            return false
        }

        /// The string starting at the quote under `index`, escapes decoded; nil when it is not a valid string.
        mutating func readString() -> String? {
            self.index += 1
            var scalars = String.UnicodeScalarView()
            var raw: [UInt8] = []
            func flush() -> Bool {
                guard !raw.isEmpty else { return true }
                guard let text = String(validating: raw, as: UTF8.self) else { return false }
                scalars.append(contentsOf: text.unicodeScalars)
                raw.removeAll(keepingCapacity: true)
                return true
            }
            while self.index < self.bytes.count {
                let byte = self.bytes[self.index]
                self.index += 1
                switch byte {
                case UInt8(ascii: "\""):
                    guard flush() else { return nil }
                    return String(scalars)
                case UInt8(ascii: "\\"):
                    guard flush(), let scalar = self.readEscape() else { return nil }
                    scalars.append(scalar)
                default:
                    raw.append(byte)
                }
            }
            return nil
        }

        /// The escape after a backslash; a `\u` pair of surrogates makes one scalar.
        mutating func readEscape() -> Unicode.Scalar? {
            guard self.index < self.bytes.count else { return nil }
            let byte = self.bytes[self.index]
            self.index += 1
            switch byte {
            case UInt8(ascii: "\""): return "\""
            case UInt8(ascii: "\\"): return "\\"
            case UInt8(ascii: "/"): return "/"
            case UInt8(ascii: "b"): return "\u{08}"
            case UInt8(ascii: "f"): return "\u{0C}"
            case UInt8(ascii: "n"): return "\n"
            case UInt8(ascii: "r"): return "\r"
            case UInt8(ascii: "t"): return "\t"
            case UInt8(ascii: "u"):
                guard let high = self.readHex4() else { return nil }
                if (0xD800..<0xDC00).contains(high) {
                    guard self.index + 1 < self.bytes.count, self.bytes[self.index] == UInt8(ascii: "\\"),
                        self.bytes[self.index + 1] == UInt8(ascii: "u")
                    else { return nil }
                    self.index += 2
                    guard let low = self.readHex4(), (0xDC00..<0xE000).contains(low) else { return nil }
                    return Unicode.Scalar(0x10000 + ((high - 0xD800) << 10) + (low - 0xDC00))
                }
                return Unicode.Scalar(high)
            default:
                return nil
            }
        }

        mutating func readHex4() -> UInt32? {
            guard self.index + 4 <= self.bytes.count else { return nil }
            var value: UInt32 = 0
            for byte in self.bytes[self.index..<self.index + 4] {
                guard let digit = Self.hexValue(byte) else { return nil }
                value = value << 4 | digit
            }
            self.index += 4
            return value
        }

        static func hexValue(_ byte: UInt8) -> UInt32? {
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): UInt32(byte - UInt8(ascii: "0"))
            case UInt8(ascii: "a")...UInt8(ascii: "f"): UInt32(byte - UInt8(ascii: "a") + 10)
            case UInt8(ascii: "A")...UInt8(ascii: "F"): UInt32(byte - UInt8(ascii: "A") + 10)
            default: nil
            }
        }
    }
}
