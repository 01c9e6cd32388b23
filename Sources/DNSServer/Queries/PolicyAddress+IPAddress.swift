import DNSForward
import RawUDP

/// The policy matches addresses without knowing RawUDP; these convert at the boundary.
extension PolicyAddress {
    public init(_ address: IPAddress) {
        switch address {
        case .v4(let v4): self.init(ipv4: v4.value)
        case .v6(let v6): self.init(ipv6High: v6.high, low: v6.low)
        }
    }
}

extension IPAddress {
    public init(_ address: PolicyAddress) {
        self = address.isIPv6 ? .v6(IPv6Address(high: address.high, low: address.low))
            : .v4(IPv4Address(UInt32(truncatingIfNeeded: address.low)))
    }
}
