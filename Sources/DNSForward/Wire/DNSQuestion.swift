/// The question of a query: the name, type and class the client asked for.
public struct DNSQuestion: Hashable, Sendable, CustomStringConvertible {
    public let name: DNSName
    public let type: UInt16
    public let `class`: UInt16

    public init(name: DNSName, type: UInt16, class: UInt16) {
        self.name = name
        self.type = type
        self.class = `class`
    }

    /// Same question, with names compared case-insensitively: an upstream may
    /// echo a different case only if it is broken or spoofed, but DNS says the
    /// names are equal (RFC 4343).
    public func matches(_ other: DNSQuestion) -> Bool {
        type == other.type && `class` == other.class && name.matches(other.name)
    }

    public var description: String { "\(name) \(DNSRecordType.mnemonic(type)) class \(`class`)" }
}

/// Record type numbers the forwarder treats specially, and names for logs.
public enum DNSRecordType {
    public static let ixfr: UInt16 = 251
    public static let axfr: UInt16 = 252

    public static func mnemonic(_ type: UInt16) -> String {
        switch type {
        case 1: return "A"
        case 2: return "NS"
        case 5: return "CNAME"
        case 6: return "SOA"
        case 12: return "PTR"
        case 15: return "MX"
        case 16: return "TXT"
        case 28: return "AAAA"
        case 33: return "SRV"
        case 41: return "OPT"
        case 43: return "DS"
        case 46: return "RRSIG"
        case 48: return "DNSKEY"
        case 64: return "SVCB"
        case 65: return "HTTPS"
        case 251: return "IXFR"
        case 252: return "AXFR"
        case 255: return "ANY"
        default: return "TYPE\(type)"
        }
    }
}
