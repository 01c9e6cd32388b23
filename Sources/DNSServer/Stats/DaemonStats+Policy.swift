import DNSForward

extension DaemonStats {
    /// The routing policy's figures, for `cache stats` and the metrics.
    public struct Policy: Codable, Sendable, Equatable {
        /// Queries decided by each rule (`default`, `canary`, `block-list`, `zone:…`, `route:…`).
        public var decisions: [String: Int]
        /// Blocked names, canaries and refusing routes answered by the daemon.
        public var answered: Int
        public var blockListNames: Int
        public var blockListBytes: Int
        /// Lines of the block lists skipped as unreadable.
        public var blockListProblems: Int
        public var bypassCanaries: Bool

        init(_ policy: RoutingPolicy, counters: Forwarder<ClientContext>.Counters) {
            var decisions: [String: Int] = [:]
            for (index, name) in policy.ruleNames.enumerated() where index < counters.policyDecisions.count {
                decisions[name] = counters.policyDecisions[index]
            }
            self.decisions = decisions
            answered = counters.answeredByPolicy
            blockListNames = policy.blockList.names.count
            blockListBytes = policy.blockList.names.memoryBytes
            blockListProblems = policy.blockList.problems.count
            bypassCanaries = policy.bypassCanariesOn
        }

        /// A worker's decisions add to the primary's; the lists are shared.
        mutating func add(_ other: Policy) {
            decisions.merge(other.decisions, uniquingKeysWith: +)
            answered += other.answered
        }
    }
}
