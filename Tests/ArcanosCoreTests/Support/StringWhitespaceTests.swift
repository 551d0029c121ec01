import Foundation
import Testing

@testable import ArcanosCore

struct StringWhitespaceTests {
    @Test(arguments: [
        "", "   ", " \n\t ", "x", "  x  ", "\n line one\nline two \r\n", "é ", "\u{00A0}nbsp\u{2003}",
        "\u{3000}ideographic\u{2028}", "\u{85}next line\u{0B}\u{0C}", "e\u{301} combining\u{301}", "\u{200B}zero width",
    ])
    func trimsLikeFoundation(_ value: String) {
        #expect(value.trimmingWhitespace() == value.trimmingCharacters(in: .whitespacesAndNewlines))
        #expect(value.isBlank == value.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty)
    }

    @Test func trimsSubstringsToo() {
        #expect("token:  abc ".dropFirst(6).trimmingWhitespace() == "abc")
    }
}
