import RawUDP

/// What the TPROXY rules look like: which queries they divert, to which port, and the
/// mark, routing table and rule priority that deliver a diverted packet locally.
///
/// The rules set the whole 32-bit mark on diverted packets and the ip rule matches that
/// exact value, so the mark only has to be a value nobody else sets as a whole: not 0x1
/// (every TPROXY howto, many firewalls) nor wg-quick's 0xca6c. Table 100 is every howto's
/// too; priorities 32764/32765 are wg-quick's and systemd-networkd's, and ours must come
/// before the main table's 32766.
public struct TPROXYRuleSettings: Equatable, Sendable {
    /// The nftables table the rules live in; `--remove` deletes exactly this table.
    public static let nftTableName = "tproxy_dns"

    public static let defaultPort: UInt16 = 5353
    public static let defaultMark: UInt32 = 0x2d4e
    public static let defaultRoutingTable: UInt32 = 153
    public static let defaultRulePriority: UInt32 = 1000

    /// The daemon's port, UDP and TCP.
    public var port: UInt16 = defaultPort
    /// Only queries arriving on these interfaces are diverted; empty: any interface.
    public var lanInterfaces: [String] = []
    /// Only queries from these sources are diverted; empty: any source. A family with no
    /// prefix listed is not diverted at all once any prefix is given.
    public var lanPrefixes: [IPPrefix] = []
    /// Queries to these destinations go on untouched (a resolver on the LAN, the gateway's
    /// own resolver).
    public var exemptPrefixes: [IPPrefix] = []
    public var mark: UInt32 = defaultMark
    public var routingTable: UInt32 = defaultRoutingTable
    public var rulePriority: UInt32 = defaultRulePriority
    /// `rules --block-dot`: reject LAN traffic to port 853 (DoT, DoQ), so
    /// clients fall back to port 53, where the gateway answers them.
    public var blockDoT = false

    public init(port: UInt16 = defaultPort, lanInterfaces: [String] = [], lanPrefixes: [IPPrefix] = [],
         exemptPrefixes: [IPPrefix] = [], mark: UInt32 = defaultMark,
         routingTable: UInt32 = defaultRoutingTable, rulePriority: UInt32 = defaultRulePriority) {
        self.port = port
        self.lanInterfaces = lanInterfaces
        self.lanPrefixes = lanPrefixes
        self.exemptPrefixes = exemptPrefixes
        self.mark = mark
        self.routingTable = routingTable
        self.rulePriority = rulePriority
    }

    /// Why these settings cannot be installed, one reason a line; empty when they can.
    public var problems: [String] {
        var problems: [String] = []
        if port == 0 { problems.append("--port must be 1-65535") }
        if port == 53 {
            problems.append("--port must not be 53: the daemon must not shadow a resolver on the gateway")
        }
        if mark == 0 { problems.append("--mark must not be 0: unmarked packets carry mark 0") }
        // 0 is unspecified, 253-255 are the kernel's default, main and local tables.
        if routingTable == 0 || (253...255).contains(routingTable) {
            problems.append("--table \(routingTable) is reserved (0, 253 default, 254 main, 255 local): pick another, e.g. \(Self.defaultRoutingTable)")
        }
        // The rule must be looked at before `main` (32766), which would otherwise route the
        // packet on to its destination; 0 is the `local` table's rule.
        if rulePriority == 0 || rulePriority >= 32766 {
            problems.append("--priority must be 1-32765: the rule has to come before the main table's (32766)")
        }
        if lanInterfaces.isEmpty && lanPrefixes.isEmpty {
            problems.append("give --lan-interface or --lan-prefix (or both): without either, queries arriving from the Internet (to the gateway's public address) would be answered too, an open resolver")
        }
        for name in lanInterfaces where !Self.isInterfaceName(name) {
            problems.append("--lan-interface \(name): not an interface name (1-15 characters, no spaces, quotes, '/' or '*')")
        }
        return problems
    }

    /// Linux interface names: at most IFNAMSIZ-1 bytes, no '/', no whitespace. Quotes and
    /// '*' (an nft wildcard) are refused too so the name goes into the ruleset verbatim.
    public static func isInterfaceName(_ name: String) -> Bool {
        let bytes = Array(name.utf8)
        guard (1...15).contains(bytes.count), name != ".", name != ".." else { return false }
        return bytes.allSatisfy { $0 > 0x20 && $0 < 0x7F && $0 != UInt8(ascii: "/") && $0 != UInt8(ascii: "\"")
            && $0 != UInt8(ascii: "*") && $0 != UInt8(ascii: "\\") }
    }

    /// "0x2d4e", "11598"; nil for anything else or for values beyond 32 bits.
    public static func parseNumber(_ text: String) -> UInt32? {
        let lower = text.lowercased()
        if lower.hasPrefix("0x") {
            let digits = lower.dropFirst(2)
            guard !digits.isEmpty, digits.allSatisfy(\.isHexDigit) else { return nil }
            return UInt32(digits, radix: 16)
        }
        guard !text.isEmpty, text.allSatisfy({ $0.isASCII && $0.isWholeNumber }) else { return nil }
        return UInt32(text)
    }

    public static func hex(_ value: UInt32) -> String { "0x" + String(value, radix: 16) }
}
