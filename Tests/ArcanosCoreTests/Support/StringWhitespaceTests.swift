import Foundation
import Testing

@testable import ArcanosCore

struct StringWhitespaceTests {
    @Test(arguments: ["", "   ", " \n\t ", "x", "  x  ", "\n line one\nline two \r\n", "é ", "\u{00A0}nbsp\u{2003}"])
    func trimsLikeFoundation(_ value: String) {
        #expect(value.trimmingWhitespace() == value.trimmingCharacters(in: .whitespacesAndNewlines))
        #expect(value.isBlank == value.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty)
    }

    @Test func trimsSubstringsToo() {
        #expect("token:  abc ".dropFirst(6).trimmingWhitespace() == "abc")
    }
}
