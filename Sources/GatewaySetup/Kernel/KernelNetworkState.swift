import DNSForward
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Reads the network namespace's nftables, policy routing and sysctls through `nft`, `ip`
/// and /proc. Every read is one small function so `rules` and `doctor` share them.
public enum KernelNetworkState {
    /// `nft list table inet NAME`; nil when there is no such table.
    public static func nftTable(_ name: String) throws(ExternalCommandError) -> String? {
        let command = ExternalCommand("nft", ["list", "table", "inet", name])
        let result = try command.run()
        if result.status == 0 { return result.output }
        if result.errorOutput.contains("No such file or directory") { return nil }
        throw ExternalCommandError(command: command.description, reason: .failed(status: result.status, message: result.errorOutput))
    }

    /// `nft list ruleset`.
    public static func nftRuleset() throws(ExternalCommandError) -> String {
        try ExternalCommand("nft", ["list", "ruleset"]).runChecked()
    }

    /// The settings recorded in our table's comment; nil when the table is absent or was
    /// not made by `rules --apply`.
    public static func installedRuleSettings() throws(ExternalCommandError) -> TPROXYRuleSettings? {
        guard let table = try nftTable(TPROXYRuleSettings.nftTableName),
              let comment = NftRulesetListing.parse(table).tableComments["inet " + TPROXYRuleSettings.nftTableName]
        else { return nil }
        return TPROXYRuleset.settings(fromRecord: comment)
    }

    /// `ip -N -4 rule show`: tables as numbers, whatever /etc/iproute2/rt_tables names them.
    public static func ipRules(_ family: IPFamily) throws(ExternalCommandError) -> [IPRuleEntry] {
        let numeric = ExternalCommand("ip", ["-N", family.flag, "rule", "show"])
        let result = try numeric.run()
        if result.status == 0 { return IPRuleEntry.parseListing(result.output) }
        // iproute2 before 5.x has no -N; numbers are then printed unless rt_tables names them.
        guard result.errorOutput.contains("unknown") || result.errorOutput.contains("Unknown") else {
            throw ExternalCommandError(command: numeric.description, reason: .failed(status: result.status, message: result.errorOutput))
        }
        return IPRuleEntry.parseListing(try ExternalCommand("ip", [family.flag, "rule", "show"]).runChecked())
    }

    /// `ip -4 route show table T`; empty when the table does not exist yet.
    public static func ipRoutes(_ family: IPFamily, table: UInt32) throws(ExternalCommandError) -> [IPRouteEntry] {
        let command = ExternalCommand("ip", [family.flag, "route", "show", "table", String(table)])
        let result = try command.run()
        if result.status == 0 { return IPRouteEntry.parseListing(result.output) }
        if result.errorOutput.contains("does not exist") { return [] }
        throw ExternalCommandError(command: command.description, reason: .failed(status: result.status, message: result.errorOutput))
    }

    /// A sysctl under /proc/sys ("net/ipv4/conf/all/rp_filter"); nil when absent.
    public static func sysctl(_ path: String) -> Int? {
        guard let text = try? String(contentsOfFile: "/proc/sys/" + path, encoding: .utf8) else { return nil }
        return Int(text.trimmingWhitespace())
    }

    /// Interfaces with IPv4 configuration, without the pseudo-entries all/default.
    public static func ipv4Interfaces() -> [String] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/sys/net/ipv4/conf")) ?? []
        return names.filter { $0 != "all" && $0 != "default" }.sorted()
    }
}
