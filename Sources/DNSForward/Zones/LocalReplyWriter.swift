/// Writes a local zone's reply straight to wire bytes.
///
/// Hand-written rather than an ldns_pkt rendered with ldns_pkt2wire: the
/// zone already holds every record as wire bytes, so going through ldns would
/// turn them back into ldns_rr objects on every query (allocations, and C
/// pointers on the answer path) only for ldns to write the same bytes again.
/// What is written is small and fixed: the header, the question as the client
/// sent it, records whose owner is either a pointer to the question name
/// (RFC 1035 4.1.4; it sits uncompressed at offset 12) or the name in full,
/// RDATA uncompressed (always allowed), and ResponseBuilder's OPT record.
struct LocalReplyWriter {
    enum Owner {
        /// The query name, as the client spelled it: the answer's first owner
        /// and every record synthesized from a wildcard (RFC 4592 3.3.1).
        case question
        case name(DNSName)
    }

    /// The header written (its flags and code), for a truncated stand-in.
    let header: DNSHeader
    private var bytes: [UInt8]
    private var answerCount = 0
    private var authorityCount = 0

    /// A compression pointer (RFC 1035 4.1.4: top two bits set) to the
    /// question name, uncompressed right after the header.
    private static let questionNamePointer: UInt16 = 0xC000 | UInt16(DNSHeader.length)

    /// Header and question as the client wrote it. AA and RA set; RD and CD
    /// copied (RFC 1035 4.1.1, RFC 6840 5.9); AD never, local data is not
    /// validated. The opcode is 0: ClientQueryParser answers only QUERY.
    init(query: ClientQuery, code: DNSResponseCode) {
        header = DNSHeader(id: query.id, flags: query.requestFlags.intersection([.rd, .cd]).union([.qr, .aa, .ra]),
                           responseCode: code, questionCount: 1)
        bytes = header.bytes + query.question.wire
    }

    mutating func appendAnswer(_ set: LocalRRset, owner: Owner) {
        append(set, owner: owner, ttl: set.ttl)
        answerCount += set.rdatas.count
    }

    mutating func appendAuthority(_ set: LocalRRset, owner: Owner, ttl: UInt32) {
        append(set, owner: owner, ttl: ttl)
        authorityCount += set.rdatas.count
    }

    /// Fills in the section counts and adds an OPT record when the query had
    /// one (RFC 6891 7), with its DO bit copied (RFC 3225 3).
    consuming func finish(withOPT: Bool, dnssecOK: Bool) -> [UInt8] {
        if withOPT { bytes += ResponseBuilder.opt(dnssecOK: dnssecOK) }
        for (offset, count) in [(6, answerCount), (8, authorityCount), (10, withOPT ? 1 : 0)] {
            let value = UInt16(truncatingIfNeeded: count)
            bytes[offset] = UInt8(value >> 8)
            bytes[offset + 1] = UInt8(truncatingIfNeeded: value)
        }
        return bytes
    }

    private mutating func append(_ set: LocalRRset, owner: Owner, ttl: UInt32) {
        for rdata in set.rdatas {
            switch owner {
            case .question: append16(Self.questionNamePointer)
            case .name(let name): bytes += name.wire
            }
            append16(set.type.rawValue)
            append16(RecordClass.in.rawValue)
            append16(UInt16(ttl >> 16))
            append16(UInt16(truncatingIfNeeded: ttl))
            append16(UInt16(rdata.count))  // LocalZone caps RDATA at 65535
            bytes += rdata
        }
    }

    private mutating func append16(_ value: UInt16) {
        bytes.append(UInt8(value >> 8))
        bytes.append(UInt8(truncatingIfNeeded: value))
    }
}
