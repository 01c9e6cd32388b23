import DNSForward
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// One line of `ip -N rule show`, e.g. `1000:	from all fwmark 0x2d4e lookup 153`
/// (`-N` prints tables as numbers even when /etc/iproute2/rt_tables names them).
public struct IPRuleEntry: Equatable, Sendable {
    public var priority: UInt32
    public var isNegated = false
    public var source = "all"
    public var fwmark: UInt32?
    /// nil when the rule has no mask, which is the same as 0xffffffff.
    public var fwmask: UInt32?
    /// The `lookup` table; nil for goto/nop/blackhole rules.
    public var table: String?
    /// Selectors besides from/fwmark/lookup (iif, oif, to, ipproto, ...), each "key value".
    public var otherSelectors: [String] = []

    /// Does this rule send every packet carrying exactly `mark` to `table`?
    public func sendsMark(_ mark: UInt32, to table: UInt32) -> Bool {
        !isNegated && source == "all" && fwmark == mark && (fwmask ?? .max) == .max
            && self.table == String(table) && otherSelectors.isEmpty
    }

    /// Every rule in `ip rule` output; lines that are not rules are skipped.
    public static func parseListing(_ text: String) -> [IPRuleEntry] {
        text.split(separator: "\n").compactMap { parse(String($0)) }
    }

    /// Selectors iproute2 prints with one argument; anything else is a flag.
    private static let keysWithValue: Set<String> = [
        "from", "to", "tos", "dsfield", "fwmark", "iif", "oif", "lookup", "table", "goto", "realms",
        "uidrange", "ipproto", "sport", "dport", "suppress_prefixlength", "suppress_ifgroup",
        "protocol", "proto", "nat", "map-to", "tun_id", "flowlabel", "dscp",
    ]

    public static func parse(_ line: String) -> IPRuleEntry? {
        guard let colon = line.firstIndex(of: ":"),
              let priority = UInt32(line[..<colon].trimmingWhitespace()) else { return nil }
        var entry = IPRuleEntry(priority: priority)
        var tokens = line[line.index(after: colon)...].split(whereSeparator: { $0 == " " || $0 == "\t" })[...]
        while let token = tokens.popFirst() {
            let key = String(token)
            if key == "not" { entry.isNegated = true; continue }
            guard keysWithValue.contains(key), let value = tokens.popFirst().map(String.init) else {
                entry.otherSelectors.append(key)
                continue
            }
            switch key {
            case "from": entry.source = value
            case "fwmark":
                let parts = value.split(separator: "/", maxSplits: 1).map(String.init)
                entry.fwmark = TPROXYRuleSettings.parseNumber(parts[0])
                entry.fwmask = parts.count == 2 ? TPROXYRuleSettings.parseNumber(parts[1]) : nil
            case "lookup", "table": entry.table = value
            default: entry.otherSelectors.append("\(key) \(value)")
            }
        }
        return entry
    }
}
