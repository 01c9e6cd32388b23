import ArgumentParser
import DNSForward
import DNSServer
import RawUDP

extension ServeCommand {
    /// The routing policy these options describe, and the flat upstream list
    /// it indexes: the default `--upstream`s first, then each forward zone's
    /// and each route's own, every one with its own health. `loadingLists`:
    /// false skips reading `--block-list` files (`validate()` only checks syntax;
    /// start-up and SIGHUP read them).
    func routingPolicy(defaultUpstreams: [UpstreamAddress],
                       loadingLists: Bool) throws(ValidationError) -> (policy: RoutingPolicy, upstreams: [UpstreamAddress]) {
        var upstreams = defaultUpstreams
        func append(_ endpoints: [UpstreamAddress]) -> [Int] {
            upstreams += endpoints
            return Array((upstreams.count - endpoints.count)..<upstreams.count)
        }
        var zones: [RoutingPolicy.ForwardZone] = []
        for text in forwardZone {
            let zone = try ServeOptionParsing.forwardZone(text)
            zones.append(RoutingPolicy.ForwardZone(name: zone.name, upstreams: append(zone.upstreams)))
        }
        var routes: [PolicyRoute] = []
        var routeUpstreams: [[Int]] = []
        for text in route {
            let parsed = try ServeOptionParsing.route(text)
            let action: PolicyRoute.Action
            switch parsed.action {
            case .upstreams(let endpoints):
                routeUpstreams.append(append(endpoints))
                action = .upstreams(set: routeUpstreams.count - 1)
            case .passthrough: action = .passthrough
            case .refuse: action = .refuse
            case .defaultUpstreams: action = .defaultUpstreams
            }
            routes.append(PolicyRoute(destination: parsed.destination, clients: parsed.clients, action: action))
        }
        let policy = RoutingPolicy(defaultUpstreams: Array(defaultUpstreams.indices), forwardZones: zones, routes: routes,
                                   routeUpstreams: routeUpstreams, blockList: loadingLists ? try loadBlockLists() : .empty,
                                   blockAnswer: try ServeOptionParsing.blockAnswer(blockAnswer), bypassCanaries: bypassCanaries)
        return (policy, upstreams)
    }

    /// `--block-list` files; a file that cannot be read stops start-up (or the
    /// reload), a bad line is reported as FILE:LINE and skipped.
    func loadBlockLists() throws(ValidationError) -> BlockList {
        let list: BlockList
        do {
            list = try BlockList.load(paths: blockList)
        } catch {
            throw ValidationError("--block-list \(error)")
        }
        for problem in list.problems.prefix(20) { printError("tproxy-dns: block list: \(problem) (line skipped)") }
        if list.problems.count > 20 { printError("tproxy-dns: block list: \(list.problems.count - 20) more lines skipped") }
        return list
    }
}
