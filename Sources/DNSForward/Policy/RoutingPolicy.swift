/// Where each query goes, decided from its name and from who asked whom:
/// local zones first (the forwarder checks them before asking), then block
/// lists and the encrypted-DNS bypass canaries, then `--forward-zone` (longest
/// zone wins), then `--route` on the original destination (most specific
/// prefix wins; a route naming clients only for them), then the default
/// upstreams. Immutable and shared by every loop; a reload makes a new one.
public final class RoutingPolicy: Sendable {
    /// Set 0 is the default `--upstream`s.
    public let upstreamSets: [UpstreamSet]
    /// Zone name (lowercased wire) → index into `zoneRules`.
    let zones: SuffixNameTable
    /// Per zone: its upstream set and its rule.
    let zoneRules: [(set: Int, rule: Int)]
    let routes: PrefixTable<(route: PolicyRoute, rule: Int)>
    public let blockList: BlockList
    public let blockAnswer: BlockAnswer
    let canaries: SuffixNameTable
    /// Rule names by index, for the query log, metrics and `policy explain`.
    public let ruleNames: [String]
    /// No name table to consult: the fast path skips the name.
    let needsName: Bool
    /// A name table large enough to look up by hash: the name's suffixes are hashed.
    let needsSuffixHashes: Bool
    /// Nothing but the default set: every query forwards there.
    let isDefaultOnly: Bool

    public static let defaultRule = 0
    public static let canaryRule = 1
    public static let blockListRule = 2

    /// Firefox's DoH canary (use-application-dns.net) and iCloud Private
    /// Relay's: answered NXDOMAIN, these keep clients on the gateway's DNS.
    public static let bypassCanaries = ["use-application-dns.net", "mask.icloud.com", "mask-h2.icloud.com"]

    public struct ForwardZone: Sendable {
        public let name: [UInt8]
        public let upstreams: [Int]

        public init(name: [UInt8], upstreams: [Int]) {
            self.name = name
            self.upstreams = upstreams
        }
    }

    /// Routes name their upstream sets by `PolicyRoute.Action.upstreams(set:)`
    /// index into `routeUpstreams`.
    public init(defaultUpstreams: [Int], forwardZones: [ForwardZone] = [], routes: [PolicyRoute] = [],
                routeUpstreams: [[Int]] = [], blockList: BlockList = .empty, blockAnswer: BlockAnswer = .nxdomain,
                bypassCanaries: Bool = true) {
        var sets = [UpstreamSet(name: "default", members: defaultUpstreams)]
        var names = ["default", "canary", "block-list"]
        var zones = SuffixNameTable()
        var zoneRules: [(set: Int, rule: Int)] = []
        for zone in forwardZones {
            let name = "zone:\(DNSName(wire: zone.name))"
            guard zones.insert(zone.name, value: UInt32(zoneRules.count)) else { continue }
            sets.append(UpstreamSet(name: name, members: zone.upstreams))
            zoneRules.append((sets.count - 1, names.count))
            names.append(name)
        }
        let firstRouteSet = sets.count
        for (index, members) in routeUpstreams.enumerated() {
            let owner = routes.first { $0.action == .upstreams(set: index) }
            sets.append(UpstreamSet(name: owner.map { "route:\($0.destination)" } ?? "route-set\(index)", members: members))
        }
        var table = PrefixTable<(route: PolicyRoute, rule: Int)>()
        for route in routes {
            var shifted = route
            if case .upstreams(let set) = route.action {
                shifted = PolicyRoute(destination: route.destination, clients: route.clients, action: .upstreams(set: firstRouteSet + set))
            }
            let clients = route.clients.isEmpty ? "" : " clients=" + route.clients.map(\.description).joined(separator: ",")
            table.insert(route.destination, value: (shifted, names.count))
            names.append("route:\(route.destination)\(clients)")
        }
        upstreamSets = sets
        self.zones = zones
        self.zoneRules = zoneRules
        self.routes = table
        self.blockList = blockList
        self.blockAnswer = blockAnswer
        canaries = bypassCanaries ? Self.canaryTable() : SuffixNameTable()
        ruleNames = names
        needsName = !zones.isEmpty || !blockList.names.isEmpty || !canaries.isEmpty
        needsSuffixHashes = zones.needsSuffixHashes || blockList.names.needsSuffixHashes || canaries.needsSuffixHashes
        isDefaultOnly = !needsName && table.isEmpty
    }

    /// The same routing with another block list (SIGHUP reloads lists only).
    public func replacing(blockList: BlockList, blockAnswer: BlockAnswer, bypassCanaries: Bool) -> RoutingPolicy {
        RoutingPolicy(copying: self, blockList: blockList, blockAnswer: blockAnswer, bypassCanaries: bypassCanaries)
    }

    private init(copying other: RoutingPolicy, blockList: BlockList, blockAnswer: BlockAnswer, bypassCanaries: Bool) {
        upstreamSets = other.upstreamSets
        zones = other.zones
        zoneRules = other.zoneRules
        routes = other.routes
        ruleNames = other.ruleNames
        self.blockList = blockList
        self.blockAnswer = blockAnswer
        canaries = bypassCanaries ? Self.canaryTable() : SuffixNameTable()
        needsName = !zones.isEmpty || !blockList.names.isEmpty || !canaries.isEmpty
        needsSuffixHashes = zones.needsSuffixHashes || blockList.names.needsSuffixHashes || canaries.needsSuffixHashes
        isDefaultOnly = !needsName && routes.isEmpty
    }

    /// Zones, routes and sets equal: only lists, answer kind or canaries differ.
    public func hasSameRouting(as other: RoutingPolicy) -> Bool {
        ruleNames == other.ruleNames && upstreamSets == other.upstreamSets
    }

    private static func canaryTable() -> SuffixNameTable {
        var table = SuffixNameTable()
        for canary in bypassCanaries { table.insert(BlockListParser.wireName(canary)!) }
        return table
    }

    public var bypassCanariesOn: Bool { !canaries.isEmpty }
}
