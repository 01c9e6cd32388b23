/// Reads block lists: hosts-file lines (`0.0.0.0 ads.example`, several names
/// after one address allowed) or one name per line, `#` comments. Works on
/// the file's bytes without making a String per line, so a list of a million
/// names parses in well under a second. A line it cannot read is reported
/// with its number and skipped; the rest of the list still counts.
public enum BlockListParser {
    /// Names hosts files map to themselves, never meant as blocks.
    static let hostsFileNoise: Set<[UInt8]> = Set(["localhost", "localhost.localdomain", "local", "broadcasthost",
                                                   "ip6-localhost", "ip6-loopback", "0.0.0.0"].map { Array($0.utf8) })

    /// Adds the names of `bytes` to `table` (value `list`); returns the lines skipped.
    public static func parse(_ bytes: UnsafeRawBufferPointer, file: String, list: UInt32 = 0,
                             into table: inout SuffixNameTable) -> [BlockListProblem] {
        var problems: [BlockListProblem] = []
        var lineNumber = 0
        var start = 0
        while start < bytes.count {
            lineNumber += 1
            var end = start
            while end < bytes.count, bytes[end] != UInt8(ascii: "\n") { end += 1 }
            if let message = parseLine(UnsafeRawBufferPointer(rebasing: bytes[start..<end]), list: list, into: &table) {
                problems.append(BlockListProblem(file: file, line: lineNumber, message: message))
            }
            start = end + 1
        }
        return problems
    }

    /// One line's names into `table`; what is wrong with it otherwise.
    static func parseLine(_ line: UnsafeRawBufferPointer, list: UInt32, into table: inout SuffixNameTable) -> String? {
        var fields: [Range<Int>] = []
        var position = 0
        while position < line.count, line[position] != UInt8(ascii: "#") {
            if isSpace(line[position]) { position += 1; continue }
            let start = position
            while position < line.count, !isSpace(line[position]), line[position] != UInt8(ascii: "#") { position += 1 }
            fields.append(start..<position)
        }
        guard let first = fields.first else { return nil }
        var names = fields[...]
        if fields.count > 1 || looksLikeAddress(line, first) {
            guard looksLikeAddress(line, first) else { return "expected `ADDRESS NAME...` or one name per line" }
            names = fields.dropFirst()
            guard !names.isEmpty else { return "an address without a name" }
        }
        for field in names {
            let text = UnsafeRawBufferPointer(rebasing: line[field])
            if text.count <= 21, hostsFileNoise.contains(Array(text)) { continue }
            guard let wire = wireName(text) else { return "`\(String(decoding: text, as: UTF8.self))` is not a domain name" }
            table.insert(wire, value: list)
        }
        return nil
    }

    /// Presentation name to lowercased wire: letters, digits, `-` and `_`,
    /// labels of 1-63 octets, 255 at most; a leading `*.` is dropped (a listed
    /// name covers its subdomains anyway), a trailing dot allowed.
    public static func wireName(_ text: UnsafeRawBufferPointer) -> [UInt8]? {
        var body = text[...]
        if body.starts(with: [UInt8(ascii: "*"), UInt8(ascii: ".")]) { body = body.dropFirst(2) }
        if body.last == UInt8(ascii: ".") { body = body.dropLast() }
        guard !body.isEmpty, body.count < 254 else { return nil }
        var wire: [UInt8] = [0]
        wire.reserveCapacity(body.count + 2)
        var labelStart = 0
        for byte in body {
            if byte == UInt8(ascii: ".") {
                let length = wire.count - labelStart - 1
                guard length > 0, length <= 63 else { return nil }
                wire[labelStart] = UInt8(length)
                labelStart = wire.count
                wire.append(0)
                continue
            }
            guard let folded = nameByte(byte) else { return nil }
            wire.append(folded)
        }
        let length = wire.count - labelStart - 1
        guard length > 0, length <= 63 else { return nil }
        wire[labelStart] = UInt8(length)
        wire.append(0)
        return wire
    }

    public static func wireName(_ text: String) -> [UInt8]? {
        Array(text.utf8).withUnsafeBytes { wireName($0) }
    }

    private static func nameByte(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "A")...UInt8(ascii: "Z"): return byte + 32
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
             UInt8(ascii: "-"), UInt8(ascii: "_"): return byte
        default: return nil
        }
    }

    private static func isSpace(_ byte: UInt8) -> Bool {
        byte == UInt8(ascii: " ") || byte == UInt8(ascii: "\t") || byte == UInt8(ascii: "\r")
    }

    /// An IPv4 or IPv6 literal's alphabet (digits, dots, colons, hex): names
    /// of only digits and dots are not domain names a list would block.
    private static func looksLikeAddress(_ line: UnsafeRawBufferPointer, _ field: Range<Int>) -> Bool {
        var sawColon = false, sawDot = false, sawHexLetter = false
        for byte in line[field] {
            switch byte {
            case UInt8(ascii: ":"): sawColon = true
            case UInt8(ascii: "."): sawDot = true
            case UInt8(ascii: "0")...UInt8(ascii: "9"): continue
            case UInt8(ascii: "a")...UInt8(ascii: "f"), UInt8(ascii: "A")...UInt8(ascii: "F"): sawHexLetter = true
            default: return false
            }
        }
        return sawColon || (sawDot && !sawHexLetter)
    }
}

/// A block-list line that was skipped: `FILE:LINE: message`.
public struct BlockListProblem: Sendable, Equatable, CustomStringConvertible {
    public let file: String
    public let line: Int
    public let message: String

    public var description: String { "\(file):\(line): \(message)" }
}
