/// The fixed 12-byte DNS header read straight from wire bytes (RFC 1035 4.1.1),
/// so the forwarder can answer or drop a packet that ldns cannot parse.
public struct DNSHeader: Equatable, Sendable {
    public static let length = 12

    public var id: UInt16
    public var flags: UInt16
    public var questionCount: UInt16
    public var answerCount: UInt16
    public var authorityCount: UInt16
    public var additionalCount: UInt16

    /// Nil when fewer than 12 bytes arrived: nothing to answer to.
    public init?(wire: UnsafeRawBufferPointer) {
        guard wire.count >= Self.length else { return nil }
        func word(_ offset: Int) -> UInt16 { UInt16(wire[offset]) << 8 | UInt16(wire[offset + 1]) }
        id = word(0)
        flags = word(2)
        questionCount = word(4)
        answerCount = word(6)
        authorityCount = word(8)
        additionalCount = word(10)
    }

    public init(id: UInt16, flags: UInt16, questionCount: UInt16 = 0, answerCount: UInt16 = 0,
                authorityCount: UInt16 = 0, additionalCount: UInt16 = 0) {
        self.id = id
        self.flags = flags
        self.questionCount = questionCount
        self.answerCount = answerCount
        self.authorityCount = authorityCount
        self.additionalCount = additionalCount
    }

    public var isResponse: Bool { flags & 0x8000 != 0 }
    public var opcode: UInt8 { UInt8((flags >> 11) & 0xF) }
    public var isTruncated: Bool { flags & 0x0200 != 0 }
    public var recursionDesired: Bool { flags & 0x0100 != 0 }
    public var checkingDisabled: Bool { flags & 0x0010 != 0 }
    public var responseCode: DNSResponseCode { DNSResponseCode(rawValue: flags & 0xF) }

    public var bytes: [UInt8] {
        [id, flags, questionCount, answerCount, authorityCount, additionalCount]
            .flatMap { [UInt8($0 >> 8), UInt8(truncatingIfNeeded: $0)] }
    }

    /// Overwrites the ID of the message in `wire` (its first two bytes).
    public static func setID(_ id: UInt16, in wire: inout [UInt8]) {
        wire[0] = UInt8(id >> 8)
        wire[1] = UInt8(truncatingIfNeeded: id)
    }
}

/// A response code: the header's 4 bits, extended by 8 more in OPT (RFC 6891
/// 6.1.3). Unknown values are kept, not collapsed.
public struct DNSResponseCode: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public let rawValue: UInt16
    public init(rawValue: UInt16) { self.rawValue = rawValue & 0xFFF }

    public static let noError = DNSResponseCode(rawValue: 0)
    public static let formatError = DNSResponseCode(rawValue: 1)
    public static let serverFailure = DNSResponseCode(rawValue: 2)
    public static let nameError = DNSResponseCode(rawValue: 3)
    public static let notImplemented = DNSResponseCode(rawValue: 4)
    public static let refused = DNSResponseCode(rawValue: 5)
    public static let badVersion = DNSResponseCode(rawValue: 16)

    /// The part that goes in the header's RCODE field.
    public var headerBits: UInt16 { rawValue & 0xF }

    public var description: String {
        switch rawValue {
        case 0: return "NOERROR"
        case 1: return "FORMERR"
        case 2: return "SERVFAIL"
        case 3: return "NXDOMAIN"
        case 4: return "NOTIMP"
        case 5: return "REFUSED"
        case 16: return "BADVERS"
        default: return "RCODE\(rawValue)"
        }
    }
}
