/// An address prefix in CIDR notation: 192.0.2.0/24, 2001:db8::/32.
public struct IPPrefix: Hashable, Sendable, CustomStringConvertible {
    public let address: IPAddress
    public let length: Int

    /// The host bits of `address` are cleared, so 192.0.2.7/24 is 192.0.2.0/24.
    public init?(address: IPAddress, length: Int) {
        switch address {
        case .v4(let v4):
            guard (0...32).contains(length) else { return nil }
            let mask: UInt32 = length == 0 ? 0 : ~0 << (32 - length)
            self.address = .v4(IPv4Address(v4.value & mask))
        case .v6(let v6):
            guard (0...128).contains(length) else { return nil }
            let (highMask, lowMask) = Self.v6Masks(length)
            self.address = .v6(IPv6Address(high: v6.high & highMask, low: v6.low & lowMask))
        }
        self.length = length
    }

    /// "192.0.2.0/24", "2001:db8::/32", or a bare address (a host prefix).
    public init?(_ text: some StringProtocol) {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count <= 2, let address = IPAddress(parts[0]) else { return nil }
        if parts.count == 1 {
            self.init(address: address, length: address.isIPv4 ? 32 : 128)
            return
        }
        guard !parts[1].isEmpty, parts[1].allSatisfy({ $0.isASCII && $0.isWholeNumber }), parts[1].count <= 3,
              let length = Int(parts[1]) else { return nil }
        self.init(address: address, length: length)
    }

    /// True when `candidate` lies inside this prefix (families must match;
    /// IPv4-mapped IPv6 addresses are already IPv4 by the time they get here).
    public func contains(_ candidate: IPAddress) -> Bool {
        switch (address, candidate) {
        case (.v4(let network), .v4(let host)):
            let mask: UInt32 = length == 0 ? 0 : ~0 << (32 - length)
            return host.value & mask == network.value
        case (.v6(let network), .v6(let host)):
            let (highMask, lowMask) = Self.v6Masks(length)
            return host.high & highMask == network.high && host.low & lowMask == network.low
        default:
            return false
        }
    }

    public var description: String { "\(address)/\(length)" }

    private static func v6Masks(_ length: Int) -> (UInt64, UInt64) {
        let high: UInt64 = length >= 64 ? ~0 : (length == 0 ? 0 : ~0 << (64 - length))
        let low: UInt64 = length <= 64 ? 0 : (length == 128 ? ~0 : ~0 << (128 - length))
        return (high, low)
    }

    /// Where a gateway's LAN clients come from when nobody said: RFC 1918, shared
    /// address space (RFC 6598), link-local, loopback, and IPv6 ULA and link-local.
    public static let privateRanges: [IPPrefix] = [
        "10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10", "169.254.0.0/16", "127.0.0.0/8",
        "fc00::/7", "fe80::/10", "::1/128",
    ].compactMap { IPPrefix($0) }
}
