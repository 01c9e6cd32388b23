import RawUDP

extension DoctorChecks {
    public func capabilities(_ capabilities: ProcessCapabilities) -> DoctorFinding {
        let missing = [ProcessCapabilities.Capability.netAdmin, .netRaw].filter { !capabilities.has($0) }
        guard !missing.isEmpty else { return .ok("this process has CAP_NET_ADMIN and CAP_NET_RAW, as serve needs") }
        return .warn("this process lacks \(missing.map(\.description).joined(separator: " and ")): checks reading nftables fail, and serve would too",
                     fix: "run doctor (and serve) as root, or with AmbientCapabilities=CAP_NET_ADMIN CAP_NET_RAW")
    }

    /// `ss -Hl{u,t}np sport = :PORT`: free, the daemon's, or someone else's.
    public func portOwner(_ transport: String, _ result: Result<[ListeningSocket], ExternalCommandError>) -> DoctorFinding {
        let name = transport.uppercased()
        let sockets: [ListeningSocket]
        switch result {
        case .failure(let error):
            return .warn("\(name) port \(port): not checked: \(error)", fix: "install iproute2 (ss)")
        case .success(let value):
            sockets = value.filter { $0.port == port }
        }
        guard !sockets.isEmpty else {
            return .warn("nothing listens on \(name) port \(port): diverted queries pass on to their servers until the daemon runs",
                         fix: "start tproxy-dns serve --port \(port)")
        }
        let owners = sockets.flatMap(\.owners)
        let others = owners.filter { $0.name != "tproxy-dns" }
        let listed = owners.map { "\($0.name) (pid \($0.pid))" }.joined(separator: ", ")
        if !others.isEmpty {
            return .fail("\(name) port \(port) is held by \(listed): tproxy-dns serve cannot bind it",
                         fix: "stop \(others[0].name), or move the daemon and the rules to another --port")
        }
        if owners.isEmpty {
            return .warn("something listens on \(name) port \(port); its owner is hidden from this user", fix: "run doctor as root")
        }
        return .ok("\(name) port \(port): \(listed) listens")
    }

    /// The outcome of asking each upstream `. NS`. One silent upstream among answering ones
    /// is a warning (the daemon fails over); none answering is a failure.
    public func upstreams(_ outcomes: [(upstream: IPEndpoint, outcome: UpstreamProbe.Outcome)]) -> [DoctorFinding] {
        guard !outcomes.isEmpty else {
            return [.warn("upstreams: not checked: no --upstream given and no daemon to ask",
                          fix: "pass doctor --upstream ADDR")]
        }
        let anyAnswered = outcomes.contains { if case .answered = $0.outcome { true } else { false } }
        return outcomes.map { upstream, outcome in
            let problem: String
            switch outcome {
            case .answered(let milliseconds):
                return .ok("upstream \(upstream) answers (\(milliseconds) ms)")
            case .timedOut(let seconds):
                problem = "no answer within \(seconds) s"
            case .refused:
                problem = "refused (ICMP port unreachable: no DNS server there)"
            case .error(let error):
                problem = "\(error)"
            }
            let message = "upstream \(upstream): \(problem)"
            let fix = "check the address, and routes and firewalls between this host and it"
            return anyAnswered ? .warn(message, fix: fix) : .fail(message + "; no upstream answers", fix: fix)
        }
    }
}
