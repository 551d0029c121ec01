extension RandomNumberGenerator {
    /// 128 random bits as 32 lower-case hex digits: challenge ids and one-time tokens.
    mutating func randomHex128() -> String {
        let high: UInt64 = self.next()
        let low: UInt64 = self.next()
        return Self.hex16(high) + Self.hex16(low)
    }

    private static func hex16(_ value: UInt64) -> String {
        let digits = String(value, radix: 16)
        return String(repeating: "0", count: 16 - digits.count) + digits
    }
}
