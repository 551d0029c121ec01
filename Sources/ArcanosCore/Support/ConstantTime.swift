/// Secret comparison whose running time does not depend on where the inputs differ.
public enum ConstantTime {
    /// True when both strings have the same UTF-8 bytes. Every byte of the longer input is visited, so
    /// neither a shared prefix nor the length of the expected secret shows in the timing.
    public static func equals(_ lhs: some StringProtocol, _ rhs: some StringProtocol) -> Bool {
        let a = Array(lhs.utf8)
        let b = Array(rhs.utf8)
        let length = max(a.count, b.count)
        var difference = UInt(a.count ^ b.count)
        for index in 0..<length {
            let x = index < a.count ? a[index] : 0
            let y = index < b.count ? b[index] : 0
            difference |= UInt(x ^ y)
        }
        return difference == 0
    }
}
