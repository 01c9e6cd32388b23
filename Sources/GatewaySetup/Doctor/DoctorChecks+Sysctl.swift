extension DoctorChecks {
    /// net.ipv4.conf.{all,IF}.src_valid_mark; the kernel ORs the two.
    public func srcValidMark(all: Int?, interfaces: [(name: String, value: Int?)]) -> DoctorFinding {
        let set = (all == 1 ? ["all"] : []) + interfaces.filter { $0.value == 1 }.map(\.name)
        guard !set.isEmpty else { return .ok("net.ipv4.conf.*.src_valid_mark is 0") }
        let keys = set.map { "net.ipv4.conf.\($0).src_valid_mark" }
        // With it the source check routes the client's address using the packet's mark, so
        // it lands on table T's `local default`, the client looks like one of the gateway's
        // own addresses and the query is dropped as a martian. No log line, no counter.
        return .fail("\(keys.joined(separator: ", "))=1 breaks IPv4 TPROXY: the source check then routes the client's address with the mark, finds table \(table)'s local route, and drops every diverted IPv4 query as a martian (wg-quick sets it)",
                     fix: "sysctl -w " + keys.map { $0 + "=0" }.joined(separator: " ") + " (and in /etc/sysctl.d)")
    }

    /// net.ipv4.conf.{all,IF}.rp_filter on the interfaces queries arrive on; the kernel
    /// uses the larger of the two, and 1 is strict.
    public func reversePathFilter(all: Int?, interfaces: [(name: String, value: Int?)]) -> DoctorFinding {
        let strict = interfaces.filter { max(all ?? 0, $0.value ?? 0) == 1 }.map(\.name)
        let names = interfaces.map(\.name)
        guard !strict.isEmpty else {
            return .ok("rp_filter is not strict on \(names.isEmpty ? "any interface" : names.joined(separator: ", "))")
        }
        let keys = (all == 1 ? ["all"] : []) + strict
        return .warn("rp_filter=1 (strict) on \(strict.joined(separator: ", ")): queries from clients whose return route leaves by another interface are dropped before they reach the daemon",
                     fix: "sysctl -w " + keys.map { "net.ipv4.conf.\($0).rp_filter=2" }.joined(separator: " ") + " (loose)")
    }

    /// net.ipv4.ip_forward / net.ipv6.conf.all.forwarding. TPROXY delivers locally and does
    /// not need it; a gateway that does not forward passes no other client traffic.
    public func forwarding(_ family: IPFamily, _ value: Int?) -> DoctorFinding {
        let key = family == .ipv4 ? "net.ipv4.ip_forward" : "net.ipv6.conf.all.forwarding"
        switch value {
        case 1?: return .ok("\(key)=1")
        case nil: return .warn("\(key) cannot be read: \(family) unavailable?")
        default:
            return .warn("\(key)=\(value!): this host does not route \(family) for its clients (DNS diversion works without it)",
                         fix: "sysctl -w \(key)=1 if this is the gateway")
        }
    }
}
