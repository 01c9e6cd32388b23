/// The one-bit flags of the header's second word (RFC 1035 4.1.1, RFC 4035
/// 3.2 for AD and CD), at their positions in that word; OPCODE and RCODE,
/// which share the word, are `DNSHeader.opcode` and `.responseCode`.
public struct HeaderFlags: OptionSet, Hashable, Sendable {
    public let rawValue: UInt16

    public init(rawValue: UInt16) { self.rawValue = rawValue }

    /// A response, not a query.
    public static let qr = HeaderFlags(rawValue: 0x8000)
    /// Authoritative answer.
    public static let aa = HeaderFlags(rawValue: 0x0400)
    /// Truncated: the full answer needs TCP.
    public static let tc = HeaderFlags(rawValue: 0x0200)
    /// Recursion desired.
    public static let rd = HeaderFlags(rawValue: 0x0100)
    /// Recursion available.
    public static let ra = HeaderFlags(rawValue: 0x0080)
    /// The reserved Z bit: named so a header read and written again keeps it.
    public static let z = HeaderFlags(rawValue: 0x0040)
    /// Authentic data (DNSSEC-validated).
    public static let ad = HeaderFlags(rawValue: 0x0020)
    /// Checking disabled.
    public static let cd = HeaderFlags(rawValue: 0x0010)

    /// The flags a client's query sets for its upstream query: RD, AD and CD.
    public static let request: HeaderFlags = [.rd, .ad, .cd]
    /// Every bit of the word that is a flag (not OPCODE, not RCODE).
    static let all: HeaderFlags = [.qr, .aa, .tc, .rd, .ra, .z, .ad, .cd]
}
