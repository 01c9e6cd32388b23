/// A response code: the header's 4 bits, extended by 8 more in OPT (RFC 6891
/// 6.1.3). Unknown values are kept, not collapsed (hickory-dns's
/// `ResponseCode::Unknown`); an integer literal is a code number, as with
/// `RecordType`.
public struct DNSResponseCode: RawRepresentable, Hashable, Sendable, ExpressibleByIntegerLiteral,
    CustomStringConvertible {
    public let rawValue: UInt16
    public init(rawValue: UInt16) { self.rawValue = rawValue & 0xFFF }
    public init(integerLiteral value: UInt16) { self.init(rawValue: value) }

    public static let noError: DNSResponseCode = 0
    public static let formatError: DNSResponseCode = 1
    public static let serverFailure: DNSResponseCode = 2
    public static let nameError: DNSResponseCode = 3
    public static let notImplemented: DNSResponseCode = 4
    public static let refused: DNSResponseCode = 5
    /// The query's EDNS version is not one we speak (RFC 6891 6.1.3).
    public static let badVersion: DNSResponseCode = 16

    /// The bits of the header's second word that hold RCODE.
    static let headerMask: UInt16 = 0xF

    /// The part that goes in the header's RCODE field.
    public var headerBits: UInt16 { rawValue & Self.headerMask }
    /// The part that goes in OPT's EXTENDED-RCODE octet.
    var extendedBits: UInt8 { UInt8(truncatingIfNeeded: rawValue >> 4) }

    public var description: String {
        switch self {
        case .noError: return "NOERROR"
        case .formatError: return "FORMERR"
        case .serverFailure: return "SERVFAIL"
        case .nameError: return "NXDOMAIN"
        case .notImplemented: return "NOTIMP"
        case .refused: return "REFUSED"
        case .badVersion: return "BADVERS"
        default: return "RCODE\(rawValue)"
        }
    }
}
