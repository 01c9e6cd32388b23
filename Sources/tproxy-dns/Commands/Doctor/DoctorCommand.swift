import ArgumentParser
import GatewaySetup
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import RawUDP

struct DoctorCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "doctor",
        abstract: "Check this host's TPROXY setup and the daemon, one line per check with its fix.",
        discussion: """
        Lines start with ok, WARN or FAIL; the exit status is 1 when any line is FAIL. Checks: \
        the kernel's nftables tproxy (nft --check of a throwaway rule, nothing is changed), \
        the tproxy rules and where they point, the ip rules and local routes of both \
        families, src_valid_mark, rp_filter, forwarding, this process's capabilities, who \
        holds the port, the control socket, and whether the upstreams answer `. NS`.

        --port, --mark and --table default to what `rules --apply` recorded in its nft \
        table, else to the port and mark of a tproxy rule found and the table its ip rule \
        looks up, else to the `rules` defaults. Read-only; run it as root to see everything.
        """
    )

    @Option(help: "The daemon's port (default: as installed, else 5353).")
    var port: UInt16?

    @Option(help: ArgumentHelp("The firewall mark the rules set (default: as installed).", valueName: "mark"))
    var mark: String?

    @Option(help: ArgumentHelp("The routing table of the local route (default: as installed).", valueName: "id"))
    var table: UInt32?

    @Option(name: .customLong("lan-interface"),
            help: ArgumentHelp("Interface queries arrive on, for rp_filter and src_valid_mark (default: those the rules name, else all).", valueName: "name"))
    var lanInterfaces: [String] = []

    @Option(help: ArgumentHelp("The daemon's control socket.", valueName: "path"))
    var control: String = ControlOptions.defaultPath

    @Option(help: ArgumentHelp("Upstream to send `. NS` to (2 s timeout). Repeat for several; default: the running daemon's.", valueName: "address"))
    var upstream: [String] = []

    func validate() throws {
        if let mark, TPROXYRuleSettings.parseNumber(mark) == nil { throw ValidationError("--mark \(mark): not a number") }
        for text in upstream where IPEndpoint(text, defaultPort: 53) == nil {
            throw ValidationError("--upstream \(text): not an IP address with optional port (use [v6]:port)")
        }
    }

    func run() throws {
        var findings: [DoctorFinding] = []
        let report = { (finding: DoctorFinding) in
            print(finding)
            findings.append(finding)
        }
        let capabilities = ProcessCapabilities.current()
        let ruleset = Result { () throws(ExternalCommandError) in try KernelNetworkState.nftRuleset() }
        let listing = (try? ruleset.get()).map(NftRulesetListing.parse)
        let checks = resolveSettings(listing)

        report(checks.capabilities(capabilities))
        report(checks.kernelTProxy(Result { () throws(ExternalCommandError) in try kernelProbe(checks) }))
        switch ruleset {
        case .success:
            checks.nftRules(listing ?? NftRulesetListing()).forEach(report)
        case .failure(let error):
            if case .failed(_, let message) = error.reason, message.contains("Operation not permitted") {
                report(.warn("nft: rules not checked: listing them needs CAP_NET_ADMIN", fix: "run doctor as root"))
            } else {
                report(.fail("nft: \(error)", fix: "install nftables"))
            }
        }
        for family in IPFamily.allCases {
            report(checks.ipRule(family, Result { () throws(ExternalCommandError) in try KernelNetworkState.ipRules(family) }))
            report(checks.localRoute(family, Result { () throws(ExternalCommandError) in
                try KernelNetworkState.ipRoutes(family, table: checks.table)
            }))
        }

        let interfaces = lanInterfaces.isEmpty
            ? (listing?.interfaceNames["inet " + TPROXYRuleSettings.nftTableName] ?? []) : lanInterfaces
        let checkedInterfaces = (interfaces.isEmpty ? KernelNetworkState.ipv4Interfaces().filter { $0 != "lo" } : interfaces)
            .map { name in (name: name, value: KernelNetworkState.sysctl("net/ipv4/conf/\(name)/rp_filter")) }
        report(checks.srcValidMark(all: KernelNetworkState.sysctl("net/ipv4/conf/all/src_valid_mark"),
                                   interfaces: checkedInterfaces.map { ($0.name, KernelNetworkState.sysctl("net/ipv4/conf/\($0.name)/src_valid_mark")) }))
        report(checks.reversePathFilter(all: KernelNetworkState.sysctl("net/ipv4/conf/all/rp_filter"), interfaces: checkedInterfaces))
        report(checks.forwarding(.ipv4, KernelNetworkState.sysctl("net/ipv4/ip_forward")))
        report(checks.forwarding(.ipv6, KernelNetworkState.sysctl("net/ipv6/conf/all/forwarding")))

        for transport in ["udp", "tcp"] {
            report(checks.portOwner(transport, Result { () throws(ExternalCommandError) in
                let flags = transport == "udp" ? "-Hlunp" : "-Hltnp"
                return ListeningSocket.parseListing(try ExternalCommand("ss", [flags, "sport = :\(checks.port)"]).runChecked())
            }))
        }
        let (controlFinding, stats) = ControlSocketProbe.run(path: control)
        report(controlFinding)
        var upstreams = upstream.compactMap { IPEndpoint($0, defaultPort: 53) }
        if upstreams.isEmpty, let stats {
            upstreams = stats.upstreams.compactMap { IPEndpoint($0.address, defaultPort: 53) }
        }
        checks.upstreams(UpstreamProbe.run(upstreams, timeout: 2)).forEach(report)

        if findings.contains(where: { $0.level == .fail }) { throw ExitCode(1) }
    }

    /// Flags first, then what `rules --apply` recorded, then what the kernel shows.
    private func resolveSettings(_ listing: NftRulesetListing?) -> DoctorChecks {
        var checks = DoctorChecks()
        checks.ipv6Available = FileManager.default.fileExists(atPath: "/proc/sys/net/ipv6")
        let recorded = listing?.tableComments["inet " + TPROXYRuleSettings.nftTableName].flatMap(TPROXYRuleset.settings(fromRecord:))
        checks.port = port ?? recorded?.port ?? TPROXYRuleSettings.defaultPort
        if let recorded {
            checks.mark = recorded.mark
            checks.table = recorded.routingTable
            checks.priority = recorded.rulePriority
        } else if let found = listing?.tproxyRules.first(where: { $0.port == checks.port })?.mark {
            checks.mark = found
            let rules = (try? KernelNetworkState.ipRules(.ipv4)) ?? []
            if let rule = rules.first(where: { $0.fwmark == found && ($0.fwmask ?? .max) == .max && !$0.isNegated }),
               let table = rule.table.flatMap({ UInt32($0) }) {
                checks.table = table
            }
        }
        if let mark { checks.mark = TPROXYRuleSettings.parseNumber(mark) ?? checks.mark }
        if let table { checks.table = table }
        return checks
    }

    /// `nft --check` sends the whole batch to the kernel, which initialises each expression
    /// (loading nft_tproxy on demand) and then aborts the transaction: it tests exactly what
    /// `rules --apply` loads, changes nothing and needs no namespace. /proc/net/ip_tables_targets
    /// would only list xtables targets already loaded.
    private func kernelProbe(_ checks: DoctorChecks) throws(ExternalCommandError) -> ExternalCommand.Result {
        let probe = """
        table inet tproxy_dns_doctor_probe {
            chain prerouting {
                type filter hook prerouting priority mangle; policy accept;
                meta l4proto { udp, tcp } th dport 53 tproxy to :\(checks.port) meta mark set \(TPROXYRuleSettings.hex(checks.mark)) accept
            }
        }

        """
        return try ExternalCommand("nft", ["--check", "-f", "-"], input: probe).run()
    }
}
