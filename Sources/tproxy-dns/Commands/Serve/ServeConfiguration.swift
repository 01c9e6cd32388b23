import ArgumentParser
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Merges a `serve --config` file with the command line: the file becomes
/// flags placed before the real ones, so ArgumentParser checks both the same
/// way and a flag given on the command line wins (the last value of an option
/// counts; a list option given on the command line replaces the file's list).
enum ServeConfiguration {
    enum Kind {
        case value
        case flag
        /// A flag with a `--no-` form: true and false each say something.
        case flagPair
        case list
    }

    /// Every `serve` option by long name. `ServeConfigurationTests` checks this
    /// against the options ServeCommand declares, so neither can drift.
    static let keys: [String: Kind] = [
        "port": .value, "upstream": .list, "upstream-policy": .value, "timeout": .value, "upstream-retransmits": .value,
        "upstream-ca": .value, "upstream-pin": .list,
        "max-in-flight": .value, "max-in-flight-per-client": .value, "cache-memory": .value, "cache-file": .value, "cache-save-interval": .value, "upstream-sockets": .value, "upstream-socket-queries": .value, "workers": .value, "cache-size": .value, "min-ttl": .value, "max-ttl": .value,
        "max-negative-ttl": .value, "servfail-ttl": .value, "serve-stale": .value, "max-udp-size": .value,
        "identity": .value, "version-string": .value,
        "tcp-idle-timeout": .value, "tcp-max-connections": .value, "allow": .list, "refused-action": .value, "refused-rate": .value,
        "case-randomization": .flagPair, "prefetch": .flagPair,
        "rate-limit": .value, "zones": .value, "control": .value, "no-control": .flag, "query-log": .value,
        "metrics": .value, "user": .value, "log-level": .value, "reply-via": .value, "reply-mark": .value,
        "tcp-message-timeout": .value, "tcp-max-per-client": .value, "metrics-max-connections": .value,
        "install-rules": .flag, "lan-interface": .list, "lan-prefix": .list, "exempt": .list, "mark": .value,
        "table": .value, "priority": .value,
        "forward-zone": .list, "route": .list, "block-list": .list, "block-answer": .value, "bypass-canaries": .flagPair,
    ]

    /// `serve`'s own arguments from this process's command line.
    static func commandLineArguments() -> [String] {
        let arguments = Array(CommandLine.arguments.dropFirst())
        guard let serve = arguments.firstIndex(of: "serve") else { return arguments }
        return Array(arguments[(serve + 1)...])
    }

    static func merge(file path: String, commandLine: [String]) throws -> ServeCommand {
        let file = try ConfigFile.load(path: path)
        let flags = withoutConfigOption(commandLine)
        let givenOnCommandLine = Set(flags.compactMap(optionName))
        var arguments: [String] = []
        var origin: [String: ConfigFile.Entry] = [:]
        for entry in file.entries where entry.table == nil {
            guard let kind = keys[entry.key] else {
                throw ConfigFileError(file: path, line: entry.line,
                                      message: "unknown key `\(entry.key)`: keys are `serve` option names (see tproxy-dns serve --help)")
            }
            if kind == .list, givenOnCommandLine.contains(entry.key) { continue }
            arguments += try self.arguments(for: entry, kind: kind, file: path)
            origin[entry.key] = entry
        }
        // The policy tables: each flag blamed on its own table's line.
        var tableOrigins: [ConfigFile.TableArgument] = []
        for argument in try file.tableArguments() {
            let name = String(argument.option.dropFirst(2))
            if givenOnCommandLine.contains(name) || (name.hasSuffix("bypass-canaries") && givenOnCommandLine.contains("no-bypass-canaries")) {
                continue
            }
            arguments += [argument.option] + (argument.value.map { [$0] } ?? [])
            tableOrigins.append(argument)
        }
        do {
            return try ServeCommand.parse(arguments + flags)
        } catch {
            let message = ServeCommand.message(for: error)
            if let argument = tableOrigins.first(where: { message.contains("\($0.option) \($0.value ?? "")") }) {
                throw ConfigFileError(file: path, line: argument.line, message: message)
            }
            // Blame the file's line when the complaint is about a key it set.
            let blamed = origin.values
                .filter { message.contains("--\($0.key)") && !givenOnCommandLine.contains($0.key) }
                .min { $0.line < $1.line }
            if let entry = blamed {
                throw ConfigFileError(file: path, line: entry.line, message: "\(entry.key): \(message)")
            }
            throw error
        }
    }

    private static func arguments(for entry: ConfigFile.Entry, kind: Kind, file: String) throws(ConfigFileError) -> [String] {
        let option = "--\(entry.key)"
        switch (kind, entry.value) {
        case (.flag, .boolean(let on)):
            return on ? [option] : []
        case (.flagPair, .boolean(let on)):
            return [on ? option : "--no-\(entry.key)"]
        case (.flag, let other), (.flagPair, let other):
            throw ConfigFileError(file: file, line: entry.line, message: "\(entry.key) takes true or false, not \(other.kind)")
        case (.list, .array(let items)):
            var result: [String] = []
            for item in items {
                guard let text = item.argument else {
                    throw ConfigFileError(file: file, line: entry.line, message: "\(entry.key): nested arrays are not used")
                }
                result += [option, text]
            }
            return result
        case (_, .array):
            throw ConfigFileError(file: file, line: entry.line, message: "\(entry.key) takes one value, not an array")
        case (_, let scalar):
            // Scalars always have an argument form; arrays were handled above.
            return [option, scalar.argument ?? ""]
        }
    }

    private static func withoutConfigOption(_ arguments: [String]) -> [String] {
        var result: [String] = []
        var skipNext = false
        for argument in arguments {
            if skipNext { skipNext = false; continue }
            if argument == "--config" { skipNext = true; continue }
            if argument.hasPrefix("--config=") { continue }
            result.append(argument)
        }
        return result
    }

    private static func optionName(_ argument: String) -> String? {
        guard argument.hasPrefix("--") else { return nil }
        return String(argument.dropFirst(2).prefix { $0 != "=" })
    }
}
