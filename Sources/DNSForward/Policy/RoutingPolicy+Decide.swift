extension RoutingPolicy {
    /// The decision for a query for `name` (lowercased wire) from `endpoints`
    /// (nil: unknown, as in tests and benchmarks; no route matches then).
    /// `suffixes` is the caller's scratch, refilled here only when a name table
    /// needs it, so a policy of default upstreams alone costs one branch.
    public func decide(name: UnsafeRawBufferPointer, endpoints: PolicyEndpoints?, suffixes: inout NameSuffixes) -> PolicyDecision {
        if isDefaultOnly { return PolicyDecision(.forward(set: 0), rule: Self.defaultRule) }
        if needsName {
            if needsSuffixHashes { suffixes.fill(name) }
            if canaries.longestMatch(name, suffixes) != nil {
                return PolicyDecision(.block(.nxdomain), rule: Self.canaryRule)
            }
            if blockList.names.longestMatch(name, suffixes) != nil {
                return PolicyDecision(.block(blockAnswer), rule: Self.blockListRule)
            }
            if let zone = zones.longestMatch(name, suffixes) {
                let rule = zoneRules[Int(zone.value)]
                return PolicyDecision(.forward(set: rule.set), rule: rule.rule)
            }
        }
        guard let endpoints,
              let match = routes.longestMatch(endpoints.target, where: { $0.route.applies(to: endpoints.client) }) else {
            return PolicyDecision(.forward(set: 0), rule: Self.defaultRule)
        }
        switch match.route.action {
        case .upstreams(let set): return PolicyDecision(.forward(set: set), rule: match.rule)
        case .passthrough: return PolicyDecision(.passthrough(endpoints.target), rule: match.rule)
        case .refuse: return PolicyDecision(.refuse, rule: match.rule)
        case .defaultUpstreams: return PolicyDecision(.forward(set: 0), rule: match.rule)
        }
    }

    /// Where a decision sends the query, in words (`policy explain`).
    public func describe(_ decision: PolicyDecision, upstreamNames: [String]) -> String {
        switch decision.verdict {
        case .block(let answer): return "answered by the daemon: \(answer == .null ? "null (0.0.0.0 / :: / NODATA)" : answer.rawValue.uppercased())"
        case .refuse: return "answered by the daemon: REFUSED"
        case .passthrough(let target): return "passthrough to the targeted server \(target) port 53 (cache scope: that server)"
        case .forward(let set):
            let members = upstreamSets[set].members.map { $0 < upstreamNames.count ? upstreamNames[$0] : "#\($0)" }
            return "upstreams \(members.joined(separator: ", ")) (set \(upstreamSets[set].name))"
        }
    }
}
