import DNSServer

extension StatsTable {
    static func policyRows(_ policy: DaemonStats.Policy) -> [(String, String)] {
        [
            ("answered by policy", "\(policy.answered)"),
            ("block list names", "\(policy.blockListNames) (\(policy.blockListBytes / 1024) KiB)"),
            ("block list bad lines", "\(policy.blockListProblems)"),
            ("bypass canaries", policy.bypassCanaries ? "on" : "off"),
        ] + policy.decisions.sorted { $0.key < $1.key }.map { ("rule \($0.key)", "\($0.value)") }
    }
}
