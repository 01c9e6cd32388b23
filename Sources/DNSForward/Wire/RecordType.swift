/// A resource record type (RFC 1035 3.2.2 and later registrations). A struct
/// over the wire's 16 bits rather than an enum, so a type nobody registered
/// here is kept as it came (hickory-dns's `RecordType::Unknown`) and costs
/// nothing on the cache-hit path. An integer literal is a type number, as in
/// `TYPE65534`.
public struct RecordType: RawRepresentable, Hashable, Comparable, Sendable, ExpressibleByIntegerLiteral,
    CustomStringConvertible {
    public let rawValue: UInt16

    public init(rawValue: UInt16) { self.rawValue = rawValue }
    public init(integerLiteral value: UInt16) { rawValue = value }

    public static let a: RecordType = 1
    public static let ns: RecordType = 2
    public static let cname: RecordType = 5
    public static let soa: RecordType = 6
    public static let ptr: RecordType = 12
    public static let mx: RecordType = 15
    public static let txt: RecordType = 16
    public static let aaaa: RecordType = 28
    public static let srv: RecordType = 33
    public static let dname: RecordType = 39
    /// EDNS's pseudo-record (RFC 6891 6.1.1).
    public static let opt: RecordType = 41
    public static let ds: RecordType = 43
    public static let rrsig: RecordType = 46
    public static let nsec: RecordType = 47
    public static let dnskey: RecordType = 48
    public static let svcb: RecordType = 64
    public static let https: RecordType = 65
    public static let ixfr: RecordType = 251
    public static let axfr: RecordType = 252
    /// A query for every type at a name (RFC 1035 3.2.3 QTYPE `*`).
    public static let any: RecordType = 255

    public static func < (lhs: RecordType, rhs: RecordType) -> Bool { lhs.rawValue < rhs.rawValue }

    /// Name for logs: the usual mnemonic, or `TYPE<n>` (RFC 3597 5) for the rest.
    public var mnemonic: String {
        switch self {
        case .a: return "A"
        case .ns: return "NS"
        case .cname: return "CNAME"
        case .soa: return "SOA"
        case .ptr: return "PTR"
        case .mx: return "MX"
        case .txt: return "TXT"
        case .aaaa: return "AAAA"
        case .srv: return "SRV"
        case .dname: return "DNAME"
        case .opt: return "OPT"
        case .ds: return "DS"
        case .rrsig: return "RRSIG"
        case .dnskey: return "DNSKEY"
        case .svcb: return "SVCB"
        case .https: return "HTTPS"
        case .ixfr: return "IXFR"
        case .axfr: return "AXFR"
        case .any: return "ANY"
        default: return "TYPE\(rawValue)"
        }
    }

    public var description: String { mnemonic }

    /// Zone transfers: a forwarder refuses them (they need TCP and an authority).
    var isZoneTransfer: Bool { self == .axfr || self == .ixfr }
}
