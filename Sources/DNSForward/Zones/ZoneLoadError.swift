/// Why a zone directory could not be loaded: the file (or the directory
/// itself), the line when the parser knows it, and what is wrong.
public struct ZoneLoadError: Error, Equatable, Sendable, CustomStringConvertible {
    public let file: String
    /// ldns reports the line of a syntax error. Checks that run on the parsed
    /// zone (records outside the zone, CNAME and other data) have no line:
    /// ldns keeps none per record.
    public let line: Int?
    public let message: String

    public init(file: String, line: Int?, message: String) {
        self.file = file
        self.line = line
        self.message = message
    }

    /// `FILE:LINE: message`, the form compilers use and editors jump to;
    /// `FILE: message` when there is no line.
    public var description: String {
        if let line { return "\(file):\(line): \(message)" }
        return "\(file): \(message)"
    }
}
