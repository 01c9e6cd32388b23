/// The policy routing that makes a TPROXY-marked packet local: per address family, a rule
/// sending the mark to our table and the table's one route, `local default dev lo`.
/// Without them the kernel would route the diverted packet on to its destination.
public enum PolicyRoutingEntry: Equatable, Sendable, CustomStringConvertible {
    case rule(IPFamily, priority: UInt32, mark: UInt32, table: UInt32)
    case localRoute(IPFamily, table: UInt32)

    public var family: IPFamily {
        switch self {
        case .rule(let family, _, _, _), .localRoute(let family, _): return family
        }
    }

    /// `ip` arguments adding the entry.
    public var addArguments: [String] { [family.flag] + selector(verb: "add") }

    /// `ip` arguments deleting exactly this entry and no other.
    public var deleteArguments: [String] { [family.flag] + selector(verb: "del") }

    public var description: String {
        switch self {
        case .rule(let family, let priority, let mark, let table):
            return "\(family) ip rule \(priority): fwmark \(TPROXYRuleSettings.hex(mark)) lookup \(table)"
        case .localRoute(let family, let table):
            return "\(family) route local \(family.everything) dev lo in table \(table)"
        }
    }

    private func selector(verb: String) -> [String] {
        switch self {
        case .rule(_, let priority, let mark, let table):
            return ["rule", verb, "priority", String(priority), "fwmark", TPROXYRuleSettings.hex(mark), "lookup", String(table)]
        case .localRoute(let family, let table):
            return ["route", verb, "local", family.everything, "dev", "lo", "table", String(table)]
        }
    }

    /// Is this rule among `rules` (from `ip -N rule show`)? Only an exact match counts:
    /// same priority, the full mark without a mask, no other selectors.
    public func isPresent(in rules: [IPRuleEntry]) -> Bool {
        guard case .rule(_, let priority, let mark, let table) = self else { return false }
        return rules.contains { $0.priority == priority && $0.sendsMark(mark, to: table) }
    }

    /// Is this route among `routes` (from `ip route show table T`)?
    public func isPresent(in routes: [IPRouteEntry]) -> Bool {
        guard case .localRoute = self else { return false }
        return routes.contains(where: \.isLocalDefaultOnLoopback)
    }
}

public enum IPFamily: String, Sendable, CaseIterable, CustomStringConvertible {
    case ipv4, ipv6

    public var flag: String { self == .ipv4 ? "-4" : "-6" }
    /// The whole address space, as `ip route` takes it.
    public var everything: String { self == .ipv4 ? "0.0.0.0/0" : "::/0" }
    public var description: String { self == .ipv4 ? "IPv4" : "IPv6" }
}
