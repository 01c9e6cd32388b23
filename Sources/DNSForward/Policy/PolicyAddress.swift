/// An IP address as the policy matches it, without RawUDP's socket types:
/// IPv4 in the low 32 bits of `low`, IPv6 as two 64-bit halves.
public struct PolicyAddress: Hashable, Sendable, CustomStringConvertible {
    public let isIPv6: Bool
    public let high: UInt64
    public let low: UInt64

    public init(ipv4 value: UInt32) {
        isIPv6 = false
        high = 0
        low = UInt64(value)
    }

    public init(ipv6High high: UInt64, low: UInt64) {
        isIPv6 = true
        self.high = high
        self.low = low
    }

    /// Bits of the address: 32 or 128.
    var bitCount: Int { isIPv6 ? 128 : 32 }

    /// The address with all but its first `length` bits cleared.
    func masked(to length: Int) -> PolicyAddress {
        if !isIPv6 {
            let keep: UInt64 = length <= 0 ? 0 : (0xFFFF_FFFF << UInt64(32 - min(length, 32))) & 0xFFFF_FFFF
            return PolicyAddress(ipv4: UInt32(low & keep))
        }
        let highKeep: UInt64 = length <= 0 ? 0 : (length >= 64 ? ~0 : ~0 << UInt64(64 - length))
        let lowKeep: UInt64 = length <= 64 ? 0 : (length >= 128 ? ~0 : ~0 << UInt64(128 - length))
        return PolicyAddress(ipv6High: high & highKeep, low: low & lowKeep)
    }

    public var description: String {
        if !isIPv6 {
            return (0..<4).map { String((low >> UInt64(24 - 8 * $0)) & 0xFF) }.joined(separator: ".")
        }
        let groups = (0..<8).map { index -> String in
            let half = index < 4 ? high : low
            return String((half >> UInt64(48 - 16 * (index % 4))) & 0xFFFF, radix: 16)
        }
        return groups.joined(separator: ":")
    }
}

/// A CIDR prefix over `PolicyAddress`.
public struct PolicyPrefix: Hashable, Sendable, CustomStringConvertible {
    public let network: PolicyAddress
    public let length: Int

    /// Nil when `length` is outside the family's 0...32 or 0...128.
    public init?(_ address: PolicyAddress, length: Int) {
        guard (0...address.bitCount).contains(length) else { return nil }
        network = address.masked(to: length)
        self.length = length
    }

    public func contains(_ address: PolicyAddress) -> Bool {
        address.isIPv6 == network.isIPv6 && address.masked(to: length) == network
    }

    public var description: String { "\(network)/\(length)" }
}
