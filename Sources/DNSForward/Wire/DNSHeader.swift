/// The fixed 12-byte DNS header read straight from wire bytes (RFC 1035 4.1.1),
/// so the forwarder can answer or drop a packet that ldns cannot parse.
public struct DNSHeader: Equatable, Sendable {
    public static let length = 12

    public var id: UInt16
    public var flags: HeaderFlags
    public var opcode: Opcode
    /// The header's 4 RCODE bits only; OPT may extend them (RFC 6891 6.1.3).
    public var responseCode: DNSResponseCode
    public var questionCount: UInt16
    public var answerCount: UInt16
    public var authorityCount: UInt16
    public var additionalCount: UInt16

    /// Where OPCODE sits in the second word.
    private static let opcodeShift: UInt16 = 11

    /// Nil when fewer than 12 bytes arrived: nothing to answer to.
    public init?(wire: UnsafeRawBufferPointer) {
        guard wire.count >= Self.length else { return nil }
        func word(_ offset: Int) -> UInt16 { UInt16(wire[offset]) << 8 | UInt16(wire[offset + 1]) }
        id = word(0)
        let second = word(2)
        flags = HeaderFlags(rawValue: second).intersection(.all)
        opcode = Opcode(rawValue: UInt8(truncatingIfNeeded: second >> Self.opcodeShift))
        responseCode = DNSResponseCode(rawValue: second & DNSResponseCode.headerMask)
        questionCount = word(4)
        answerCount = word(6)
        authorityCount = word(8)
        additionalCount = word(10)
    }

    public init(id: UInt16, flags: HeaderFlags, opcode: Opcode = .query, responseCode: DNSResponseCode = .noError,
                questionCount: UInt16 = 0, answerCount: UInt16 = 0, authorityCount: UInt16 = 0,
                additionalCount: UInt16 = 0) {
        self.id = id
        self.flags = flags
        self.opcode = opcode
        self.responseCode = responseCode
        self.questionCount = questionCount
        self.answerCount = answerCount
        self.authorityCount = authorityCount
        self.additionalCount = additionalCount
    }

    public var isResponse: Bool { flags.contains(.qr) }
    public var isTruncated: Bool { flags.contains(.tc) }
    public var recursionDesired: Bool { flags.contains(.rd) }
    public var checkingDisabled: Bool { flags.contains(.cd) }

    public var bytes: [UInt8] {
        var wire: [UInt8] = []
        wire.reserveCapacity(Self.length)
        append(to: &wire)
        return wire
    }

    /// Appends the 12 header octets: the start of every message we build, so
    /// without an array per field.
    func append(to wire: inout [UInt8]) {
        let second = flags.rawValue | UInt16(opcode.rawValue) << Self.opcodeShift | responseCode.headerBits
        Self.append(id, to: &wire)
        Self.append(second, to: &wire)
        Self.append(questionCount, to: &wire)
        Self.append(answerCount, to: &wire)
        Self.append(authorityCount, to: &wire)
        Self.append(additionalCount, to: &wire)
    }

    @inline(__always)
    private static func append(_ word: UInt16, to wire: inout [UInt8]) {
        wire.append(UInt8(word >> 8))
        wire.append(UInt8(truncatingIfNeeded: word))
    }
    /// Clears `removing`, then sets `inserting`, in the header of the message
    /// in `wire`, in place; OPCODE and RCODE stay. `wire` holds a header.
    @inline(__always)
    static func rewriteFlags(in wire: UnsafeMutableRawBufferPointer, removing: HeaderFlags, inserting: HeaderFlags) {
        let word = UInt16(wire[2]) << 8 | UInt16(wire[3])
        let rewritten = word & ~removing.rawValue | inserting.rawValue
        wire[2] = UInt8(rewritten >> 8)
        wire[3] = UInt8(truncatingIfNeeded: rewritten)
    }

    /// Reads the 16-bit ARCOUNT of the message in `wire` and writes `change(count)` back.
    @inline(__always)
    static func updateAdditionalCount(in wire: UnsafeMutableRawBufferPointer, _ change: (UInt16) -> UInt16) {
        let count = change(UInt16(wire[10]) << 8 | UInt16(wire[11]))
        wire[10] = UInt8(count >> 8)
        wire[11] = UInt8(truncatingIfNeeded: count)
    }
}
