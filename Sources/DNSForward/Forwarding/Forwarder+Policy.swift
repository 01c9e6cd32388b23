extension Forwarder {
    /// The upstream index passthrough attempts use: one past the configured
    /// ones. Its health is kept (queries, latency) but it is never marked down
    /// or probed: each query's target is a different server.
    var passthroughUpstream: Int { configuration.upstreamNames.count }
    static var passthroughName: String { "passthrough" }

    /// The policy's decision for `name` (lowercased wire), not yet counted.
    func decide(_ name: [UInt8], endpoints: PolicyEndpoints?) -> PolicyDecision {
        name.withUnsafeBytes { policy.decide(name: $0, endpoints: endpoints, suffixes: &suffixes) }
    }

    func count(_ decision: PolicyDecision) {
        counters.policyDecisions[decision.rule] += 1
    }

    /// The reply the daemon makes itself for a blocked name or a refusing
    /// route; nil when the decision forwards (then counted when it is answered).
    func policyAnswer(_ decision: PolicyDecision, for query: ClientQuery,
                      now: MonotonicInstant) -> (bytes: [UInt8], details: ReplyDetails)? {
        let answer: BlockAnswer
        switch decision.verdict {
        case .block(let kind): answer = kind
        case .refuse: answer = .refused
        case .forward, .passthrough:
            count(decision)
            return nil
        }
        count(decision)
        counters.answeredByPolicy += 1
        let reply = BlockedReply.render(answer, for: query)
        return (reply.bytes, ReplyDetails(code: reply.code, source: .policy, question: query.question, receivedAt: now,
                                          rule: decision.rule))
    }

    /// The upstreams a routed query tries, in order, and its passthrough target.
    func plan(for decision: PolicyDecision) -> (plan: [Int], passthrough: PolicyAddress?) {
        switch decision.verdict {
        case .passthrough(let target): return ([passthroughUpstream], target)
        case .forward(let set): return (selector.plan(set: set, members: policy.upstreamSets[set].members), nil)
        case .block, .refuse: return (selector.plan(set: 0, members: policy.upstreamSets[0].members), nil)
        }
    }

    /// Takes a reloaded policy when only its lists, block answer or canaries
    /// changed; zones, routes and upstream sets need a restart (their upstream
    /// sockets and health are built at start). Returns what was not applied.
    func adopt(_ new: RoutingPolicy?) -> [String] {
        guard let new, new !== policy else { return [] }
        guard new.hasSameRouting(as: policy) else { return ["forward-zone/route"] }
        policy = new
        return []
    }
}
