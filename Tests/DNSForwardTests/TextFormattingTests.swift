import DNSForward
import Testing

/// The two text helpers that replace full Foundation's (issue 21).
@Suite("String(cFormat:) and trimmingWhitespace")
struct TextFormattingTests {
    @Test func formatsLikePrintf() {
        #expect(String(cFormat: "%.1f ms", 12.25) == "12.2 ms" || String(cFormat: "%.1f ms", 12.25) == "12.3 ms")
        #expect(String(cFormat: "%.1f", 0.05) == "0.1")
        #expect(String(cFormat: "%ld entries, %5.1f%%", 42, 83.333) == "42 entries,  83.3%")
        #expect(String(cFormat: "%ldh%02ldm", 1, 5) == "1h05m")
    }

    @Test func longOutputIsNotCut() {
        #expect(String(cFormat: "%0300ld!", 7) == String(repeating: "0", count: 299) + "7!")
    }

    @Test func trimsSpacesTabsAndLineEnds() {
        #expect(" \t value \r\n".trimmingWhitespace() == "value")
        #expect("   ".trimmingWhitespace() == "")
        #expect("".trimmingWhitespace() == "")
        #expect("a b".trimmingWhitespace() == "a b")
    }
}
