/// What the routing policy says about one query, and which rule said it.
public struct PolicyDecision: Sendable, Equatable {
    public enum Verdict: Sendable, Equatable {
        /// Answered by the daemon: the block answer kind (canaries: NXDOMAIN).
        case block(BlockAnswer)
        case refuse
        /// Forwarded to an upstream set (`RoutingPolicy.upstreamSets`; 0 is the default set).
        case forward(set: Int)
        /// Forwarded to the server the client targeted, on port 53.
        case passthrough(PolicyAddress)
    }

    public let verdict: Verdict
    /// Index into `RoutingPolicy.ruleNames`.
    public let rule: Int

    public init(_ verdict: Verdict, rule: Int) {
        self.verdict = verdict
        self.rule = rule
    }

    /// Where its answers are cached: apart for every upstream set and every
    /// passthrough target, so an answer never crosses to a query routed elsewhere.
    /// Nil for answers the daemon makes (never cached).
    public var cacheScope: CacheScope? {
        switch verdict {
        case .forward(let set): return CacheScope(upstreamSet: set)
        case .passthrough(let target): return CacheScope(passthroughTo: target)
        case .block, .refuse: return nil
        }
    }
}

/// What a blocked name is answered with (`--block-answer`).
public enum BlockAnswer: String, Sendable, CaseIterable {
    case nxdomain
    /// 0.0.0.0 to A, :: to AAAA, NODATA to other types.
    case null
    case refused
}

/// The client's and the targeted server's addresses, as the policy sees a query.
public struct PolicyEndpoints: Sendable, Equatable {
    public let client: PolicyAddress
    public let target: PolicyAddress

    public init(client: PolicyAddress, target: PolicyAddress) {
        self.client = client
        self.target = target
    }
}
