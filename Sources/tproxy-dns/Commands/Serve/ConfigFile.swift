import DNSForward
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// A configuration file error: where, and what.
struct ConfigFileError: Error, CustomStringConvertible {
    let file: String
    let line: Int
    let message: String

    var description: String { "\(file):\(line): \(message)" }
}

/// The `serve --config` file: a TOML subset whose top-level keys are the long
/// names of `serve`'s flags (`cache-size = 50000`, `upstream = ["192.0.2.53"]`),
/// plus the routing policy's tables (`[[forward-zone]]`, `[[route]]`, `[block]`,
/// `ConfigFile+Tables`), whose keys are read into those flags. Values: strings
/// ("…" or '…'), integers, decimals, true/false, and arrays of those (which
/// may span lines). Comments start with #.
///
/// Why not TOMLKit (issue 17 asked for it): it wraps toml++ in C++ and pulls in
/// libstdc++ and full Foundation (which issue 21 removes from the binary), and
/// it reports a line only for syntax errors, not for the value a check later
/// rejects, so `FILE:LINE` errors for a bad route or upstream would be lost.
struct ConfigFile {
    enum Value: Equatable {
        case string(String)
        case integer(Int)
        case decimal(Double)
        case boolean(Bool)
        case array([Value])

        /// The text a flag would take for a scalar.
        var argument: String? {
            switch self {
            case .string(let text): return text
            case .integer(let number): return String(number)
            case .decimal(let number): return String(number)
            case .boolean(let flag): return String(flag)
            case .array: return nil
            }
        }

        var kind: String {
            switch self {
            case .string: return "a string"
            case .integer: return "an integer"
            case .decimal: return "a number"
            case .boolean: return "true or false"
            case .array: return "an array"
            }
        }
    }

    struct Entry: Equatable {
        let key: String
        let value: Value
        let line: Int
        /// The table it was set in; nil at the top level.
        var table: Table? = nil
    }

    /// One `[name]` or `[[name]]` table: which, the how-manieth of its name, its header's line.
    struct Table: Equatable, Hashable {
        let name: String
        let index: Int
        let line: Int
    }

    let path: String
    let entries: [Entry]

    static func load(path: String) throws(ConfigFileError) -> ConfigFile {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ConfigFileError(file: path, line: 0, message: "cannot read the file")
        }
        guard let text = String(data: data, encoding: .utf8) else {
            throw ConfigFileError(file: path, line: 0, message: "not UTF-8 text")
        }
        return try parse(text, path: path)
    }

    static func parse(_ text: String, path: String) throws(ConfigFileError) -> ConfigFile {
        var entries: [Entry] = []
        var seen: [String: Int] = [:]
        var table: Table?
        var tableCounts: [String: Int] = [:]
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        var index = 0
        while index < lines.count {
            let lineNumber = index + 1
            var statement = stripComment(lines[index])
            index += 1
            if statement.trimmingWhitespace().isEmpty { continue }
            if statement.trimmingWhitespace().hasPrefix("[") {
                table = try header(statement, line: lineNumber, path: path, counts: &tableCounts)
                continue
            }
            guard let equals = statement.firstIndex(of: "=") else {
                throw ConfigFileError(file: path, line: lineNumber, message: "expected `key = value`")
            }
            let key = String(statement[..<equals].trimmingWhitespace())
            guard !key.isEmpty, key.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-" || $0 == "_") }) else {
                throw ConfigFileError(file: path, line: lineNumber, message: "invalid key `\(key)`")
            }
            // An array may continue over several lines until its brackets balance.
            while bracketDepth(statement) > 0, index < lines.count {
                statement += " " + stripComment(lines[index])
                index += 1
            }
            let valueText = statement[statement.index(after: equals)...].trimmingWhitespace()
            var scanner = ValueScanner(text: Array(valueText), file: path, line: lineNumber)
            let value = try scanner.value()
            try scanner.expectEnd()
            let scopedKey = table.map { "\($0.name)#\($0.index).\(key)" } ?? key
            if let first = seen[scopedKey] {
                throw ConfigFileError(file: path, line: lineNumber, message: "`\(key)` already set on line \(first)")
            }
            seen[scopedKey] = lineNumber
            entries.append(Entry(key: key, value: value, line: lineNumber, table: table))
        }
        return ConfigFile(path: path, entries: entries)
    }

    /// `[[forward-zone]]`, `[[route]]` (repeatable) or `[block]` (once).
    private static func header(_ statement: String, line: Int, path: String,
                               counts: inout [String: Int]) throws(ConfigFileError) -> Table {
        let text = String(statement.trimmingWhitespace())
        let isArray = text.hasPrefix("[[") && text.hasSuffix("]]")
        let bracketOrSpace: (Character) -> Bool = { $0 == "[" || $0 == "]" || $0 == " " }
        let name = String(text.drop(while: bracketOrSpace).reversed().drop(while: bracketOrSpace).reversed())
        guard let expected = tables[name] else {
            throw ConfigFileError(file: path, line: line,
                                  message: "unknown table `\(text)`: tables are [[forward-zone]], [[route]] and [block]; other keys are `serve` flag names at the top level")
        }
        guard expected == isArray, text.hasSuffix(isArray ? "]]" : "]") else {
            throw ConfigFileError(file: path, line: line, message: expected ? "write [[\(name)]]: there may be several" : "write [\(name)]: there is one")
        }
        let index = counts[name, default: 0]
        guard expected || index == 0 else { throw ConfigFileError(file: path, line: line, message: "[\(name)] appears twice") }
        counts[name] = index + 1
        return Table(name: name, index: index, line: line)
    }

    /// Table names, and whether each is an array of tables.
    static let tables: [String: Bool] = ["forward-zone": true, "route": true, "block": false]

    /// The line without its comment (a # outside quotes).
    private static func stripComment(_ line: String) -> String {
        var quote: Character?
        var escaped = false
        for (offset, character) in line.enumerated() {
            if escaped { escaped = false; continue }
            if character == "\\", quote == "\"" { escaped = true; continue }
            if let open = quote {
                if character == open { quote = nil }
            } else if character == "\"" || character == "'" {
                quote = character
            } else if character == "#" {
                return String(line.prefix(offset))
            }
        }
        return line
    }

    private static func bracketDepth(_ text: String) -> Int {
        var depth = 0
        var quote: Character?
        for character in text {
            if let open = quote {
                if character == open { quote = nil }
            } else if character == "\"" || character == "'" {
                quote = character
            } else if character == "[" {
                depth += 1
            } else if character == "]" {
                depth -= 1
            }
        }
        return depth
    }
}

/// Reads one value from the right-hand side of `key = value`.
private struct ValueScanner {
    let text: [Character]
    let file: String
    let line: Int
    var position = 0

    init(text: [Character], file: String, line: Int) {
        self.text = text
        self.file = file
        self.line = line
    }

    private func fail(_ message: String) -> ConfigFileError {
        ConfigFileError(file: file, line: line, message: message)
    }

    private mutating func skipSpaces() {
        while position < text.count, text[position].isWhitespace { position += 1 }
    }

    mutating func expectEnd() throws(ConfigFileError) {
        skipSpaces()
        if position < text.count { throw fail("unexpected `\(String(text[position...]))` after the value") }
    }

    mutating func value() throws(ConfigFileError) -> ConfigFile.Value {
        skipSpaces()
        guard position < text.count else { throw fail("missing value") }
        switch text[position] {
        case "\"", "'": return .string(try string())
        case "[": return try array()
        default: return try bare()
        }
    }

    private mutating func string() throws(ConfigFileError) -> String {
        let quote = text[position]
        position += 1
        var result = ""
        while position < text.count {
            let character = text[position]
            position += 1
            if character == quote { return result }
            if quote == "\"", character == "\\" {
                guard position < text.count else { break }
                let escaped = text[position]
                position += 1
                switch escaped {
                case "\\": result.append("\\")
                case "\"": result.append("\"")
                case "n": result.append("\n")
                case "t": result.append("\t")
                default: throw fail("unknown escape \\\(escaped) in a string")
                }
            } else {
                result.append(character)
            }
        }
        throw fail("string not closed")
    }

    private mutating func array() throws(ConfigFileError) -> ConfigFile.Value {
        position += 1
        var items: [ConfigFile.Value] = []
        while true {
            skipSpaces()
            guard position < text.count else { throw fail("array not closed with ]") }
            if text[position] == "]" {
                position += 1
                return .array(items)
            }
            let item = try value()
            if case .array = item { throw fail("nested arrays are not used") }
            items.append(item)
            skipSpaces()
            guard position < text.count else { throw fail("array not closed with ]") }
            if text[position] == "," {
                position += 1
            } else if text[position] != "]" {
                throw fail("expected , or ] in the array")
            }
        }
    }

    private mutating func bare() throws(ConfigFileError) -> ConfigFile.Value {
        let start = position
        while position < text.count, !text[position].isWhitespace, text[position] != ",", text[position] != "]" {
            position += 1
        }
        let word = String(text[start..<position])
        if word == "true" { return .boolean(true) }
        if word == "false" { return .boolean(false) }
        let digits = word.replacing("_", with: "")
        if let integer = Int(digits) { return .integer(integer) }
        if digits.contains("."), let decimal = Double(digits), decimal.isFinite { return .decimal(decimal) }
        throw fail("`\(word)` is not a value: quote strings, e.g. \"\(word)\"")
    }
}
