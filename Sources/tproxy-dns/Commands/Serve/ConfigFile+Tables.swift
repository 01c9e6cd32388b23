/// The routing policy's tables, read into the flags they stand for, so the
/// file and the command line meet in one parser:
///
///     [[forward-zone]]             --forward-zone corp.example=10.0.0.53
///     zone = "corp.example"
///     upstreams = ["10.0.0.53"]
///
///     [[route]]                    --route 8.8.8.8/32=passthrough@192.168.1.0/24
///     destination = "8.8.8.8/32"
///     action = "passthrough"       (upstream, passthrough, refuse, default)
///     upstreams = [...]            (with action = "upstream")
///     clients = ["192.168.1.0/24"] (optional)
///
///     [block]                      --block-list, --block-answer, --[no-]bypass-canaries
///     lists = ["/etc/tproxy-dns/ads.hosts"]
///     answer = "null"
///     bypass-canaries = true
extension ConfigFile {
    /// One flag a table stands for, with the line to blame for it.
    struct TableArgument: Equatable {
        let option: String
        let value: String?
        let line: Int
    }

    static let tableKeys: [String: Set<String>] = [
        "forward-zone": ["zone", "upstreams"],
        "route": ["destination", "action", "upstreams", "clients"],
        "block": ["lists", "answer", "bypass-canaries"],
    ]

    func tableArguments() throws(ConfigFileError) -> [TableArgument] {
        var byTable: [Table: [String: Entry]] = [:]
        for entry in entries {
            guard let table = entry.table else { continue }
            guard Self.tableKeys[table.name]?.contains(entry.key) == true else {
                let known = Self.tableKeys[table.name, default: []].sorted().joined(separator: ", ")
                throw ConfigFileError(file: path, line: entry.line, message: "unknown key `\(entry.key)` in [\(table.name)]: use \(known)")
            }
            byTable[table, default: [:]][entry.key] = entry
        }
        var arguments: [TableArgument] = []
        for (table, keys) in byTable.sorted(by: { $0.key.line < $1.key.line }) {
            switch table.name {
            case "forward-zone": arguments.append(try forwardZone(table, keys))
            case "route": arguments.append(try route(table, keys))
            default: arguments += try block(keys)
            }
        }
        return arguments
    }

    private func forwardZone(_ table: Table, _ keys: [String: Entry]) throws(ConfigFileError) -> TableArgument {
        let zone = try string("zone", in: table, keys)
        let upstreams = try strings("upstreams", in: table, keys)
        return TableArgument(option: "--forward-zone", value: "\(zone)=\(upstreams.joined(separator: ","))", line: table.line)
    }

    private func route(_ table: Table, _ keys: [String: Entry]) throws(ConfigFileError) -> TableArgument {
        let destination = try string("destination", in: table, keys)
        var action = try string("action", in: table, keys)
        if action == "upstream" || keys["upstreams"] != nil {
            guard action == "upstream" else {
                throw ConfigFileError(file: path, line: keys["upstreams"]!.line, message: "upstreams go with action = \"upstream\"")
            }
            action = "upstream:" + (try strings("upstreams", in: table, keys)).joined(separator: ",")
        }
        if keys["clients"] != nil {
            action += "@" + (try strings("clients", in: table, keys)).joined(separator: ",")
        }
        return TableArgument(option: "--route", value: "\(destination)=\(action)", line: table.line)
    }

    private func block(_ keys: [String: Entry]) throws(ConfigFileError) -> [TableArgument] {
        var arguments: [TableArgument] = []
        if let lists = keys["lists"] {
            guard case .array(let items) = lists.value else {
                throw ConfigFileError(file: path, line: lists.line, message: "lists takes an array of file paths")
            }
            for item in items {
                guard case .string(let file) = item else {
                    throw ConfigFileError(file: path, line: lists.line, message: "lists takes an array of file paths")
                }
                arguments.append(TableArgument(option: "--block-list", value: file, line: lists.line))
            }
        }
        if let answer = keys["answer"] {
            guard case .string(let text) = answer.value else {
                throw ConfigFileError(file: path, line: answer.line, message: "answer takes \"nxdomain\", \"null\" or \"refused\"")
            }
            arguments.append(TableArgument(option: "--block-answer", value: text, line: answer.line))
        }
        if let canaries = keys["bypass-canaries"] {
            guard case .boolean(let on) = canaries.value else {
                throw ConfigFileError(file: path, line: canaries.line, message: "bypass-canaries takes true or false")
            }
            arguments.append(TableArgument(option: on ? "--bypass-canaries" : "--no-bypass-canaries", value: nil, line: canaries.line))
        }
        return arguments
    }

    private func string(_ key: String, in table: Table, _ keys: [String: Entry]) throws(ConfigFileError) -> String {
        guard let entry = keys[key] else {
            throw ConfigFileError(file: path, line: table.line, message: "[[\(table.name)]] needs \(key) = \"...\"")
        }
        guard case .string(let text) = entry.value else {
            throw ConfigFileError(file: path, line: entry.line, message: "\(key) takes a string, not \(entry.value.kind)")
        }
        return text
    }

    /// An array of strings, or one string.
    private func strings(_ key: String, in table: Table, _ keys: [String: Entry]) throws(ConfigFileError) -> [String] {
        guard let entry = keys[key] else {
            throw ConfigFileError(file: path, line: table.line, message: "[[\(table.name)]] needs \(key) = [\"...\"]")
        }
        switch entry.value {
        case .string(let text): return [text]
        case .array(let items):
            var texts: [String] = []
            for item in items {
                guard case .string(let text) = item else {
                    throw ConfigFileError(file: path, line: entry.line, message: "\(key) takes strings")
                }
                texts.append(text)
            }
            guard !texts.isEmpty else { throw ConfigFileError(file: path, line: entry.line, message: "\(key) is empty") }
            return texts
        default:
            throw ConfigFileError(file: path, line: entry.line, message: "\(key) takes an array of strings, not \(entry.value.kind)")
        }
    }
}
