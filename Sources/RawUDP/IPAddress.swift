/// An address of either family. IPv4-mapped IPv6 addresses are folded into `.v4`
/// by `init(normalizing:)` so a client is the same client whichever way the
/// dual-stack socket reported it.
public enum IPAddress: Hashable, Sendable, CustomStringConvertible {
    case v4(IPv4Address)
    case v6(IPv6Address)

    public init?(_ text: some StringProtocol) {
        if let v4 = IPv4Address(text) {
            self = .v4(v4)
        } else if let v6 = IPv6Address(text) {
            self = .v6(v6)
        } else {
            return nil
        }
    }

    public init(normalizing v6: IPv6Address) {
        if let v4 = v6.mappedIPv4 { self = .v4(v4) } else { self = .v6(v6) }
    }

    public var isIPv4: Bool {
        if case .v4 = self { return true }
        return false
    }

    public var description: String {
        switch self {
        case .v4(let address): return address.description
        case .v6(let address): return address.description
        }
    }
}

/// An address and a UDP/TCP port.
public struct IPEndpoint: Hashable, Sendable, CustomStringConvertible {
    public var address: IPAddress
    public var port: UInt16

    public init(address: IPAddress, port: UInt16) {
        self.address = address
        self.port = port
    }

    /// "192.0.2.1", "192.0.2.1:53", "2001:db8::1", "[2001:db8::1]:53".
    public init?(_ text: some StringProtocol, defaultPort: UInt16) {
        let string = String(text)
        if string.hasPrefix("[") {
            guard let close = string.firstIndex(of: "]"),
                  let address = IPv6Address(string[string.index(after: string.startIndex)..<close]) else { return nil }
            let rest = string[string.index(after: close)...]
            if rest.isEmpty {
                self.init(address: .v6(address), port: defaultPort)
            } else {
                guard rest.hasPrefix(":"), let port = Self.port(rest.dropFirst()) else { return nil }
                self.init(address: .v6(address), port: port)
            }
        } else if let address = IPAddress(string) {
            self.init(address: address, port: defaultPort)
        } else if let colon = string.lastIndex(of: ":"),
                  let address = IPv4Address(string[..<colon]),
                  let port = Self.port(string[string.index(after: colon)...]) {
            self.init(address: .v4(address), port: port)
        } else {
            return nil
        }
    }

    /// Decimal digits only: UInt16("+53") is 53.
    private static func port(_ text: Substring) -> UInt16? {
        guard text.allSatisfy({ $0.isASCII && $0.isWholeNumber }) else { return nil }
        return UInt16(text)
    }

    public var description: String {
        switch address {
        case .v4(let address): return "\(address):\(port)"
        case .v6(let address): return "[\(address)]:\(port)"
        }
    }
}
