/// The verdicts of `tproxy-dns doctor`, each from data already read (an `ip rule` listing,
/// a sysctl value), so every one is testable without a kernel. `DoctorCommand` gathers.
public struct DoctorChecks: Sendable {
    public var port: UInt16 = TPROXYRuleSettings.defaultPort
    public var mark: UInt32 = TPROXYRuleSettings.defaultMark
    public var table: UInt32 = TPROXYRuleSettings.defaultRoutingTable
    /// Used in suggested commands only: any priority before main works.
    public var priority: UInt32 = TPROXYRuleSettings.defaultRulePriority
    /// False when the kernel has no IPv6 (no /proc/sys/net/ipv6).
    public var ipv6Available = true

    /// The `rules` defaults, IPv6 assumed present; `doctor` overrides from flags and the kernel.
    public init() {}

    private var markText: String { TPROXYRuleSettings.hex(mark) }
    private var applyHint: String { "tproxy-dns rules --apply --lan-interface IF --port \(port)" }

    // MARK: Kernel and nftables

    /// From `nft --check` of a throwaway table holding a tproxy rule.
    public func kernelTProxy(_ result: Result<ExternalCommand.Result, ExternalCommandError>) -> DoctorFinding {
        switch result {
        case .failure(let error):
            return .fail("cannot run nft: \(error)", fix: "install nftables")
        case .success(let run) where run.status == 0:
            return .ok("kernel: nftables tproxy available (nft --check loaded a tproxy rule)")
        case .success(let run) where run.errorOutput.contains("Operation not permitted"):
            return .warn("kernel: tproxy support not checked: nft needs CAP_NET_ADMIN", fix: "run doctor as root")
        case .success(let run):
            let reason = run.errorOutput.split(separator: "\n").first.map(String.init) ?? "exit \(run.status)"
            return .fail("kernel: nftables cannot load a tproxy rule (\(reason))",
                         fix: "modprobe nft_tproxy, or use a kernel built with CONFIG_NFT_TPROXY")
        }
    }

    /// The tproxy rules in `nft list ruleset`: one aims at the port, for UDP and TCP, with our mark.
    public func nftRules(_ listing: NftRulesetListing) -> [DoctorFinding] {
        let rules = listing.tproxyRules
        guard !rules.isEmpty else {
            return [.fail("nft: no tproxy rule: nothing diverts port-53 queries to the daemon", fix: applyHint)]
        }
        let aimed = rules.filter { $0.port == port }
        guard !aimed.isEmpty else {
            let ports = Set(rules.map { ":\($0.port)" }).sorted().joined(separator: ", ")
            return [.fail("nft: tproxy rules send to \(ports), not to port \(port)",
                          fix: "\(applyHint), or pass doctor the daemon's --port")]
        }
        let tables = Set(aimed.map(\.table)).sorted().joined(separator: ", ")
        var findings: [DoctorFinding] = []
        let marks = Set(aimed.map(\.mark))
        if marks.contains(nil) {
            findings.append(.fail("nft: a tproxy rule in \(tables) sets no mark: diverted packets are routed on instead of delivered",
                                  fix: "add `meta mark set \(markText)` to it, or \(applyHint)"))
        } else if marks != [mark] {
            let listed = marks.compactMap { $0 }.map(TPROXYRuleSettings.hex).sorted().joined(separator: ", ")
            findings.append(.fail("nft: tproxy rules in \(tables) set mark \(listed), the ip rules checked below look for \(markText)",
                                  fix: "pass doctor --mark and --table as installed, or \(applyHint)"))
        }
        let protocols = aimed.reduce(into: Set<String>()) { $0.formUnion($1.protocols) }
        for missing in ["udp", "tcp"] where !protocols.contains(missing) {
            findings.append(.warn("nft: no tproxy rule for \(missing.uppercased()): those queries reach their servers directly",
                                  fix: applyHint))
        }
        if findings.isEmpty {
            findings.append(.ok("nft: \(tables) diverts UDP and TCP to port \(port) with mark \(markText)"))
        }
        return findings
    }

    // MARK: Policy routing

    /// From `ip -N rule show` of one family.
    public func ipRule(_ family: IPFamily, _ result: Result<[IPRuleEntry], ExternalCommandError>) -> DoctorFinding {
        let rules: [IPRuleEntry]
        switch result {
        case .failure(let error):
            return unreadable(family, "ip rules", error)
        case .success(let value):
            rules = value
        }
        let add = "ip \(family.flag) rule add priority \(priority) fwmark \(markText) lookup \(table)"
        guard let rule = rules.first(where: { $0.sendsMark(mark, to: table) }) else {
            return .fail("\(family) ip rule fwmark \(markText) lookup \(table) is missing: diverted \(family) queries are routed on to their servers, not to the daemon",
                         fix: "\(add) (or tproxy-dns rules --apply)")
        }
        // The main table's rule (32766) would route the packet on before ours is reached.
        guard rule.priority < 32766 else {
            return .fail("\(family) ip rule fwmark \(markText) lookup \(table) has priority \(rule.priority), after the main table's 32766",
                         fix: "ip \(family.flag) rule del priority \(rule.priority) fwmark \(markText) lookup \(table); \(add)")
        }
        return .ok("\(family) ip rule \(rule.priority): fwmark \(markText) lookup \(table)")
    }

    /// From `ip route show table T` of one family.
    public func localRoute(_ family: IPFamily, _ result: Result<[IPRouteEntry], ExternalCommandError>) -> DoctorFinding {
        switch result {
        case .failure(let error):
            return unreadable(family, "routing table \(table)", error)
        case .success(let routes) where routes.contains(where: \.isLocalDefaultOnLoopback):
            return .ok("\(family) routing table \(table): local default dev lo")
        case .success:
            return .fail("\(family) routing table \(table) has no `local default dev lo`: marked packets are not delivered to the daemon",
                         fix: "ip \(family.flag) route add local \(family.everything) dev lo table \(table) (or tproxy-dns rules --apply)")
        }
    }

    private func unreadable(_ family: IPFamily, _ what: String, _ error: ExternalCommandError) -> DoctorFinding {
        if family == .ipv6, !ipv6Available {
            return .warn("IPv6 is not available in this kernel: only IPv4 queries can be diverted")
        }
        return .fail("\(family) \(what): cannot read: \(error)", fix: "install iproute2")
    }
}
