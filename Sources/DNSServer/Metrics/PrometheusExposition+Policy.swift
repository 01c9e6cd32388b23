extension PrometheusExposition {
    /// Routing policy: which rule decided how many queries, and the block list's size.
    mutating func policyMetrics(_ policy: DaemonStats.Policy) {
        metric("tproxy_dns_policy_decisions_total", "counter", "Queries by the routing-policy rule that decided where they went.",
               policy.decisions.sorted { $0.key < $1.key }.map { (["rule": $0.key], Double($0.value)) })
        metric("tproxy_dns_policy_answers_total", "counter", "Blocked names, bypass canaries and refusing routes answered by the daemon.",
               [([:], Double(policy.answered))])
        metric("tproxy_dns_block_list_names", "gauge", "Names in the loaded --block-list files.", [([:], Double(policy.blockListNames))])
        metric("tproxy_dns_block_list_bytes", "gauge", "Memory the block list's name table takes.", [([:], Double(policy.blockListBytes))])
    }
}
