import DNSForward
/// What `doctor` needs from `nft list ruleset`: every tproxy rule, table comments, and the
/// interface names a table matches on. nft prints one rule a line, which is all we rely on.
public struct NftRulesetListing: Equatable, Sendable {
    public struct TProxyRule: Equatable, Sendable {
        /// "inet tproxy_dns"
        public var table: String
        public var chain: String
        public var port: UInt16
        /// The mark the rule sets, nil when it sets none.
        public var mark: UInt32?
        /// "udp", "tcp": the protocols the rule names (both when it names neither).
        public var protocols: Set<String>
    }

    public var tproxyRules: [TProxyRule] = []
    /// Table ("inet tproxy_dns") to its comment.
    public var tableComments: [String: String] = [:]
    /// Table to the interface names its rules match with iifname, in order of appearance.
    public var interfaceNames: [String: [String]] = [:]

    /// An empty ruleset: no tables, no tproxy rules.
    public init() {}

    public static func parse(_ text: String) -> NftRulesetListing {
        var listing = NftRulesetListing()
        // A block opens with a line ending in "{" and closes with a line "}"; the first two
        // levels are table and chain. A statement whose braces do not balance (a long set
        // of elements) continues on the next line.
        var blocks: [(kind: String, name: String)] = []
        var pending = ""
        for rawLine in text.split(separator: "\n") {
            var line = rawLine.trimmingWhitespace()
            if !pending.isEmpty {
                pending.append(" ")
                pending.append(contentsOf: line)
                line = Substring(pending)
                pending = ""
            }
            let tokens = line.split(separator: " ").map(String.init)
            guard let first = tokens.first else { continue }
            if line.hasSuffix("{") {
                var name = ""
                if first == "table", tokens.count >= 4 {
                    name = "\(tokens[1]) \(tokens[2])"
                } else if tokens.count >= 3 {
                    name = tokens[1]
                }
                blocks.append((first, name))
                continue
            }
            if line == "}" {
                _ = blocks.popLast()
                continue
            }
            if line.filter({ $0 == "{" }).count > line.filter({ $0 == "}" }).count {
                pending = String(line)
                continue
            }
            guard let top = blocks.first, top.kind == "table" else { continue }
            let table = top.name
            if blocks.count == 1, first == "comment", let comment = quotedStrings(in: line).first {
                listing.tableComments[table] = comment
                continue
            }
            guard blocks.count == 2, blocks[1].kind == "chain" else { continue }
            let chain = blocks[1].name
            if tokens.contains("iifname") {
                for name in quotedStrings(in: line) where !(listing.interfaceNames[table] ?? []).contains(name) {
                    listing.interfaceNames[table, default: []].append(name)
                }
            }
            if let rule = tproxyRule(tokens, table: table, chain: chain) {
                listing.tproxyRules.append(rule)
            }
        }
        return listing
    }

    /// `... tproxy [ip|ip6] to [ADDR]:PORT ... [meta] mark set VALUE ...`
    private static func tproxyRule(_ tokens: [String], table: String, chain: String) -> TProxyRule? {
        guard var index = tokens.firstIndex(of: "tproxy") else { return nil }
        index += 1
        if index < tokens.count, tokens[index] == "ip" || tokens[index] == "ip6" { index += 1 }
        guard index + 1 < tokens.count, tokens[index] == "to",
              let colon = tokens[index + 1].lastIndex(of: ":"),
              let port = UInt16(tokens[index + 1][tokens[index + 1].index(after: colon)...]) else { return nil }
        var mark: UInt32?
        if let set = tokens.indices.first(where: { $0 + 2 < tokens.count && tokens[$0] == "mark" && tokens[$0 + 1] == "set" }) {
            mark = TPROXYRuleSettings.parseNumber(tokens[set + 2])
        }
        let words = Set(tokens.map { $0.filter { !"{},".contains($0) } })
        var protocols = words.intersection(["udp", "tcp"])
        if protocols.isEmpty { protocols = ["udp", "tcp"] }
        return TProxyRule(table: table, chain: chain, port: port, mark: mark, protocols: protocols)
    }

    private static func quotedStrings(in line: Substring) -> [String] {
        line.split(separator: "\"", omittingEmptySubsequences: false).enumerated()
            .filter { $0.offset % 2 == 1 }.map { String($0.element) }
    }
}
