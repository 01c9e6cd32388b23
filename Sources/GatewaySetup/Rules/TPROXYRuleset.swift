import RawUDP

/// The text and commands that install `TPROXYRuleSettings`: one nftables table plus, per
/// address family, a policy routing rule and a local route. Pure: nothing here runs.
public struct TPROXYRuleset: Equatable, Sendable {
    public let settings: TPROXYRuleSettings

    public init(_ settings: TPROXYRuleSettings) { self.settings = settings }

    public var tableName: String { TPROXYRuleSettings.nftTableName }

    /// The table's comment. It records what the routing entries were installed with, so
    /// `--remove` and `doctor` find them in the same network namespace without a state file
    /// (which /run would share between namespaces) and the record goes when the table goes.
    public var record: String {
        let s = settings
        return "tproxy-dns port=\(s.port) mark=\(TPROXYRuleSettings.hex(s.mark)) table=\(s.routingTable) priority=\(s.rulePriority)"
    }

    /// Settings from a `record` comment; interfaces and prefixes are not recorded.
    public static func settings(fromRecord comment: String) -> TPROXYRuleSettings? {
        let fields = comment.split(separator: " ")
        guard fields.first == "tproxy-dns" else { return nil }
        var values: [String: String] = [:]
        for field in fields.dropFirst() {
            let pair = field.split(separator: "=", maxSplits: 1).map(String.init)
            guard pair.count == 2 else { return nil }
            values[pair[0]] = pair[1]
        }
        guard let port = values["port"].flatMap({ UInt16($0) }),
              let mark = values["mark"].flatMap(TPROXYRuleSettings.parseNumber),
              let table = values["table"].flatMap(TPROXYRuleSettings.parseNumber),
              let priority = values["priority"].flatMap(TPROXYRuleSettings.parseNumber) else { return nil }
        return TPROXYRuleSettings(port: port, mark: mark, routingTable: table, rulePriority: priority)
    }

    /// The nftables table, loadable with `nft -f`.
    public var nftTable: String {
        let s = settings
        var divert: [String] = [
            "# Replies to exchanges someone else began (a resolver querying from port 53).",
            "ct direction reply return",
            "# A DNS response (header bit QR=1) is never a query, tracked or not.",
            "meta l4proto udp @th,80,8 & 0x80 == 0x80 return",
        ]
        let interfaceFilter: [String] = s.lanInterfaces.isEmpty ? [] : ["iifname != \(Self.set(unique(s.lanInterfaces).map { "\"\($0)\"" })) return"]
        let sourceFilters: [String] = s.lanPrefixes.isEmpty ? [] : IPFamily.allCases.map { family -> String in
            let prefixes = Self.prefixes(s.lanPrefixes, family)
            guard !prefixes.isEmpty else { return "meta nfproto \(family.rawValue) return" }
            return "\(family.nftAddress) saddr != \(Self.set(prefixes)) return"
        }
        if !interfaceFilter.isEmpty {
            divert.append("# Only queries arriving on the LAN interfaces.")
            divert += interfaceFilter
        }
        if !sourceFilters.isEmpty {
            divert.append("# Only queries from LAN sources; a family without a LAN prefix is not diverted.")
            divert += sourceFilters
        }
        if !s.exemptPrefixes.isEmpty {
            divert.append("# Exempt destinations (--exempt): these queries reach their server untouched.")
            for family in IPFamily.allCases {
                let prefixes = Self.prefixes(s.exemptPrefixes, family)
                if !prefixes.isEmpty { divert.append("\(family.nftAddress) daddr \(Self.set(prefixes)) return") }
            }
        }
        divert.append("meta l4proto { udp, tcp } counter tproxy to :\(s.port) meta mark set \(TPROXYRuleSettings.hex(s.mark)) accept")
        let blockDoT = s.blockDoT ? Self.blockDoTChain(lanFilters: interfaceFilter + sourceFilters) : ""

        return """
        table inet \(tableName) {
        \tcomment "\(record)"

        \t# Only the prerouting hook is used: packets the gateway sends itself (its own
        \t# resolver, the daemon's upstream queries) pass output, never prerouting, so they
        \t# are not diverted. UDP and TCP, IPv4 and IPv6.
        \tchain prerouting {
        \t\ttype filter hook prerouting priority mangle; policy accept;
        \t\tmeta l4proto { udp, tcp } th dport 53 jump divert
        \t}

        \tchain divert {
        \(divert.map { "\t\t" + $0 }.joined(separator: "\n"))
        \t}
        \(blockDoT)}

        """
    }

    /// `--block-dot`: LAN clients' DNS over TLS and over QUIC (port 853) is
    /// rejected at once (TCP reset, ICMP port unreachable), not dropped, so they
    /// fall back to port 53 without waiting for a timeout. Forwarded traffic only:
    /// the gateway's own connections are not touched.
    static func blockDoTChain(lanFilters: [String]) -> String {
        let lines = ["type filter hook forward priority filter; policy accept;"] + lanFilters + [
            "tcp dport 853 counter reject with tcp reset",
            "udp dport 853 counter reject",
        ]
        return "\n\tchain block_dot {\n" + lines.map { "\t\t" + $0 }.joined(separator: "\n") + "\n\t}\n"
    }

    /// One `nft -f` transaction replacing the table, whatever it held before, atomically:
    /// creating it empty first makes the delete succeed when it did not exist.
    public var nftReplaceTransaction: String {
        "table inet \(tableName)\ndelete table inet \(tableName)\n" + nftTable
    }

    /// The routing entries in installation order: each family's route before its rule, so
    /// a marked packet never finds the rule without the route.
    public var routingEntries: [PolicyRoutingEntry] {
        IPFamily.allCases.flatMap { family -> [PolicyRoutingEntry] in
            [.localRoute(family, table: settings.routingTable),
             .rule(family, priority: settings.rulePriority, mark: settings.mark, table: settings.routingTable)]
        }
    }

    /// A shell script doing what `rules --apply` does (without its idempotence checks).
    public var shellScript: String {
        let s = settings
        var lines = [
            "#!/bin/sh",
            "# tproxy-dns TPROXY rules: UDP and TCP port 53 to :\(s.port), mark \(TPROXYRuleSettings.hex(s.mark)), routing table \(s.routingTable), rule priority \(s.rulePriority).",
            "# `tproxy-dns rules --apply` (same flags) installs this idempotently and rolls back on failure;",
            "# `tproxy-dns rules --remove` deletes the table, the rules and the routes again.",
            "set -e",
            "nft -f - <<'EOF'",
            nftReplaceTransaction + "EOF",
            "# A marked packet looks up table \(s.routingTable), whose only route makes every address local.",
        ]
        lines += routingEntries.map { (["ip"] + $0.addArguments).joined(separator: " ") }
        return lines.joined(separator: "\n") + "\n"
    }

    private static func prefixes(_ all: [IPPrefix], _ family: IPFamily) -> [String] {
        // A host prefix reads better as the bare address: 198.51.100.53, not /32.
        unique(all.filter { $0.address.isIPv4 == (family == .ipv4) }.map {
            $0.length == ($0.address.isIPv4 ? 32 : 128) ? $0.address.description : $0.description
        })
    }

    private static func set(_ elements: [String]) -> String { "{ " + elements.joined(separator: ", ") + " }" }
}

private func unique(_ items: [String]) -> [String] {
    var seen = Set<String>()
    return items.filter { seen.insert($0).inserted }
}

extension IPFamily {
    /// nft's payload keyword and its `meta nfproto` name.
    var nftAddress: String { self == .ipv4 ? "ip" : "ip6" }
}
