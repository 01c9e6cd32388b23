/// Where the parts of a DNS response sit in its wire bytes: the TTL fields to
/// rewrite when serving from cache, the OPT record to strip or patch, and the
/// TTLs caching policy needs. Computed once per upstream reply.
public struct MessageLayout: Sendable {
    enum Section: Sendable { case answer, authority, additional }

    /// Byte offsets of every TTL field except OPT's (which holds flags, not a
    /// TTL). 16 bits: a DNS message is at most 65,535 bytes.
    var ttlOffsets: [UInt16] = []
    /// Offset where the question section ends and records begin.
    var questionEnd = 0
    /// The OPT record's byte range, if present.
    var optRange: Range<Int>?
    /// Additional records after the OPT record (usually none).
    var recordsAfterOPT = 0
    /// The smallest TTL of any record (OPT's excepted), as RFC 2181 8 reads it.
    var minimumTTL: UInt32?
    /// min(SOA TTL, SOA MINIMUM) of the first SOA in authority (RFC 2308 5).
    var negativeTTL: UInt32?

    /// Nil when the records do not parse cleanly to the end of the message.
    init?(wire: UnsafeRawBufferPointer) {
        let reader = WireReader(bytes: wire)
        guard wire.count <= Int(UInt16.max), let questions = reader.u16(at: 4), questions == 1,
              let answers = reader.u16(at: 6), let authorities = reader.u16(at: 8),
              let additionals = reader.u16(at: 10),
              let nameEnd = reader.skipName(at: DNSHeader.length) else { return nil }
        var offset = nameEnd + 4
        guard offset <= wire.count else { return nil }
        questionEnd = offset
        // A record takes 11 octets at least: counts that claim more are lies, not reservations.
        let records = min(Int(answers) + Int(authorities) + Int(additionals), wire.count / 11)
        ttlOffsets.reserveCapacity(records)
        var owners: [Int] = []
        owners.reserveCapacity(records)
        for section in [Section.answer, .authority, .additional] {
            let count = section == .answer ? answers : section == .authority ? authorities : additionals
            for _ in 0..<count {
                let start = offset
                owners.append(start)
                guard let ownerEnd = reader.skipName(at: offset),
                      let type = reader.recordType(at: ownerEnd),
                      let ttl = reader.u32(at: ownerEnd + 4),
                      let rdataLength = reader.u16(at: ownerEnd + 8) else { return nil }
                let rdataStart = ownerEnd + 10
                offset = rdataStart + Int(rdataLength)
                guard offset <= wire.count,
                      RecordDataShape.isWellFormed(type, in: reader, rdata: rdataStart..<offset) else { return nil }
                if type == .opt {
                    // RFC 6891 6.1.2: OPT's owner is the root, one zero octet. Found by
                    // fuzzing: ldns accepts any owner, and ReplyRenderer patches the UDP
                    // size at a fixed offset from the record's start, which with a longer
                    // owner overwrote the name and type and corrupted the cached reply.
                    guard section == .additional, optRange == nil, ownerEnd == start + 1 else { return nil }
                    optRange = start..<offset
                    continue
                }
                if section == .additional, optRange != nil { recordsAfterOPT += 1 }
                let effective = TTLRewrite.effective(ttl)
                ttlOffsets.append(UInt16(ownerEnd + 4))
                minimumTTL = min(minimumTTL ?? effective, effective)
                // RNAME and MNAME are one octet at least, then five 32-bit fields, MINIMUM last.
                if section == .authority, type == .soa, negativeTTL == nil, rdataLength >= 22,
                   let soaMinimum = reader.u32(at: offset - 4) {
                    negativeTTL = min(effective, soaMinimum)
                }
            }
        }
        // Trailing bytes after the last record: not a message we will replay.
        guard offset == wire.count else { return nil }
        // After every record is read: a pointer goes backwards, but the name it lands on
        // reads forwards and may run into bytes of later records, so every TTL and the OPT
        // must be known before any owner is judged.
        for owner in owners where !Self.ownerAvoidsRewrittenBytes(reader, owner: owner, ttlOffsets: ttlOffsets,
                                                                   optRange: optRange) {
            return nil
        }
    }

    /// Whether the owner name at `owner`, followed through its compression
    /// pointers, reads only bytes a reply to a client keeps as they are. Found
    /// by fuzzing: a pointer may aim at any earlier byte, and a "name" there can
    /// run through a TTL field; aging the TTL then changed a label length and
    /// the client got a name running past the end. Names only ever point at
    /// earlier names, so an honest upstream never trips this.
    private static func ownerAvoidsRewrittenBytes(_ reader: WireReader, owner: Int, ttlOffsets: [UInt16],
                                                  optRange: Range<Int>?) -> Bool {
        func rewritten(_ span: Range<Int>) -> Bool {
            if let optRange, optRange.overlaps(span) { return true }
            return ttlOffsets.contains { (Int($0)..<(Int($0) + 4)).overlaps(span) }
        }
        var position = owner
        var followed = false
        // skipName already proved the chain runs strictly backwards and ends.
        while position < reader.bytes.count {
            let length = Int(reader.bytes[position])
            if length & 0xC0 == 0xC0 {
                guard position + 1 < reader.bytes.count else { return false }
                position = (length & 0x3F) << 8 | Int(reader.bytes[position + 1])
                followed = true
                continue
            }
            if followed, rewritten(position..<(position + 1 + length)) { return false }
            if length == 0 { break }
            position += length + 1
        }
        return true
    }
}
