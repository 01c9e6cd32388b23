/// Upstreams a policy rule sends queries to: indices into the flat upstream
/// list (`ForwarderConfiguration.upstreamNames`), each with its own health,
/// so failover and `--upstream-policy` work inside the set as they do for the
/// default one.
public struct UpstreamSet: Sendable, Equatable {
    /// What logs and `policy explain` call it: `default`, `zone:corp.example`, `route:192.0.2.0/24`.
    public let name: String
    public let members: [Int]

    public init(name: String, members: [Int]) {
        precondition(!members.isEmpty, "an upstream set has at least one upstream")
        self.name = name
        self.members = members
    }
}

/// One `--route`: queries whose original destination lies in `destination`
/// (and whose client lies in one of `clients`, when there are any).
public struct PolicyRoute: Sendable, Equatable {
    public enum Action: Sendable, Equatable {
        /// An upstream set of its own (index into `RoutingPolicy.upstreamSets`).
        case upstreams(set: Int)
        case passthrough
        case refuse
        case defaultUpstreams
    }

    public let destination: PolicyPrefix
    public let clients: [PolicyPrefix]
    public let action: Action

    public init(destination: PolicyPrefix, clients: [PolicyPrefix] = [], action: Action) {
        self.destination = destination
        self.clients = clients
        self.action = action
    }

    func applies(to client: PolicyAddress) -> Bool {
        clients.isEmpty || clients.contains { $0.contains(client) }
    }
}
