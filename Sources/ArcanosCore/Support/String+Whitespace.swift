extension StringProtocol {
    /// The text without leading and trailing whitespace, newlines included: the scalars Foundation's
    /// `.whitespacesAndNewlines` holds, which are Unicode's `White_Space` plus the zero-width space.
    ///
    /// Used instead of Foundation's `trimmingCharacters(in:)`, which goes through `NSString` on Linux;
    /// `/ask` trims every prompt (`bench/hotpath.sh` measures both).
    public func trimmingWhitespace() -> String {
        let scalars = self.unicodeScalars
        guard let first = scalars.firstIndex(where: { !$0.isTrimmedSpace }),
            let last = scalars.lastIndex(where: { !$0.isTrimmedSpace })
        else { return "" }
        return String(self[first...last])
    }

    /// True when the text is empty or only whitespace.
    public var isBlank: Bool { self.unicodeScalars.allSatisfy(\.isTrimmedSpace) }
}

extension Unicode.Scalar {
    fileprivate var isTrimmedSpace: Bool { self.properties.isWhitespace || self == "\u{200B}" }
}
