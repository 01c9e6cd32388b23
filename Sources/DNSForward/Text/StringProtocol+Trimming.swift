extension StringProtocol {
    /// The text without leading and trailing spaces, tabs and line ends.
    ///
    /// Why not `trimmingCharacters(in:)`: it lives in full Foundation, which the static
    /// binary leaves out (issue 21).
    public func trimmingWhitespace() -> SubSequence {
        let isSpace: (Character) -> Bool = { $0 == " " || $0 == "\t" || $0.isNewline }
        guard let first = firstIndex(where: { !isSpace($0) }), let last = lastIndex(where: { !isSpace($0) }) else {
            return self[endIndex...]
        }
        return self[first...last]
    }
}
