/// The EDNS OPT pseudo-record as this forwarder reads and writes it (RFC 6891
/// 6.1.2): a root owner, type OPT, the UDP payload size in the CLASS field,
/// extended RCODE, version and the DO bit in the TTL field, and no options of
/// ours. Every offset into one lives here.
enum OPTRecord {
    /// Root owner (1), TYPE (2), CLASS (2), TTL (4), RDLENGTH (2).
    static let length = 11
    /// The UDP payload size: the record's CLASS field.
    static let udpSizeOffset = 3
    /// The EXTENDED-RCODE octet, first of the TTL field.
    static let extendedCodeOffset = 5
    /// The octet holding DO, third of the TTL field (RFC 3225 3).
    static let dnssecFlagsOffset = 7
    static let dnssecOKBit: UInt8 = 0x80

    /// What a client's OPT says.
    struct Fields {
        let udpSize: UInt16
        let dnssecOK: Bool
        let version: UInt8
    }

    /// A blank-optioned OPT advertising `udpSize`.
    static func bytes(udpSize: UInt16, extendedCode: UInt8 = 0, dnssecOK: Bool) -> [UInt8] {
        var record = [UInt8](repeating: 0, count: length)
        record.withUnsafeMutableBytes { out in
            writeBlank(into: out, at: 0)
            out[extendedCodeOffset] = extendedCode
            patch(out, at: 0, udpSize: udpSize, dnssecOK: dnssecOK)
        }
        return record
    }

    /// The OPT record at `offset`, which must end the message at `end` (as in
    /// a query) and hold only whole options; nil when it is anything else.
    static func read(_ reader: WireReader, at offset: Int, end: Int) -> Fields? {
        guard offset < end, reader.bytes[offset] == 0,
              reader.u16(at: offset + 1) == RecordType.opt.rawValue,
              let rdataLength = reader.u16(at: offset + 9),
              offset + length + Int(rdataLength) == end,
              optionsAreWhole(reader, from: offset + length, to: end) else { return nil }
        return fields(reader, at: offset)
    }

    /// Size, DO and version of the OPT-typed record whose owner is the one
    /// octet at `offset`; nil when its fixed part runs past the message.
    static func fields(_ reader: WireReader, at offset: Int) -> Fields? {
        guard let size = reader.u16(at: offset + udpSizeOffset),
              let ttl = reader.u32(at: offset + extendedCodeOffset) else { return nil }
        let dnssecOK = UInt8(truncatingIfNeeded: ttl >> 8) & dnssecOKBit != 0
        return Fields(udpSize: size, dnssecOK: dnssecOK, version: UInt8(truncatingIfNeeded: ttl >> 16))
    }

    /// Whether the RDATA in `start..<end` is a run of whole options, each
    /// CODE (2), LENGTH (2) and LENGTH octets (RFC 6891 6.1.2); one cut short
    /// makes the query malformed, answered FORMERR (RFC 6891 7).
    static func optionsAreWhole(_ reader: WireReader, from start: Int, to end: Int) -> Bool {
        var position = start
        while position < end {
            guard position + 4 <= end, let optionLength = reader.u16(at: position + 2) else { return false }
            position += 4 + Int(optionLength)
        }
        return position == end
    }

    /// Writes an OPT with a root owner and nothing else set at `offset`.
    @inline(__always)
    static func writeBlank(into out: UnsafeMutableRawBufferPointer, at offset: Int) {
        (out.baseAddress! + offset).initializeMemory(as: UInt8.self, repeating: 0, count: length)
        out[offset + 1] = UInt8(RecordType.opt.rawValue >> 8)
        out[offset + 2] = UInt8(truncatingIfNeeded: RecordType.opt.rawValue)
    }

    /// Sets the UDP size and the DO bit of the OPT record at `offset`, in place.
    @inline(__always)
    static func patch(_ out: UnsafeMutableRawBufferPointer, at offset: Int, udpSize: UInt16, dnssecOK: Bool) {
        out[offset + udpSizeOffset] = UInt8(udpSize >> 8)
        out[offset + udpSizeOffset + 1] = UInt8(truncatingIfNeeded: udpSize)
        let flags = offset + dnssecFlagsOffset
        out[flags] = (out[flags] & ~dnssecOKBit) | (dnssecOK ? dnssecOKBit : 0)
    }
}
