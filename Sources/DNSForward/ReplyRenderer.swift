/// Turns a stored or fresh response into the bytes one client gets: its ID,
/// its letter case in the question, TTLs aged by the time in cache, OPT kept
/// only if the client sent one, and TC when it exceeds the client's buffer.
/// Pure byte patching: no parse on the cache-hit path.
enum ReplyRenderer {
    static func render(_ answer: CachedAnswer, for query: ClientQuery, now: ContinuousClock.Instant,
                       fixedTTL: UInt32? = nil) -> [UInt8] {
        var wire = answer.wire
        let age = answer.age(at: now)
        wire.withUnsafeMutableBytes { bytes in
            for offset in answer.layout.ttlOffsets {
                let stored = UInt32(bytes[offset]) << 24 | UInt32(bytes[offset + 1]) << 16
                    | UInt32(bytes[offset + 2]) << 8 | UInt32(bytes[offset + 3])
                let ttl = fixedTTL ?? (stored > age ? stored - age : 0)
                bytes.storeBytes(of: ttl.bigEndian, toByteOffset: offset, as: UInt32.self)
            }
        }
        // Handed over, not copied: the one copy of a cached answer per hit is the one above.
        return personalize(consume wire, optRange: answer.layout.optRange, for: query)
    }

    /// ID, question case, RD and OPT handling shared by fresh and cached replies.
    static func personalize(_ reply: consuming [UInt8], optRange: Range<Int>?, for query: ClientQuery) -> [UInt8] {
        var wire = consume reply
        DNSHeader.setID(query.id, in: &wire)
        // RD mirrors the query (RFC 1035 4.1.1); AA goes, since we are not the
        // authority for relayed or cached data; RA is set, since recursion is what we offer.
        wire[2] = (wire[2] & ~0x05) | UInt8((query.requestFlags & 0x0100) >> 8)
        wire[3] |= 0x80
        let nameLength = query.question.name.wire.count
        if wire.count >= DNSHeader.length + nameLength {
            wire.replaceSubrange(DNSHeader.length..<(DNSHeader.length + nameLength), with: query.question.name.wire)
        }
        if let optRange {
            if query.hasEDNS {
                // Advertise our own buffer size, not the upstream's, and echo the
                // client's DO bit whatever the upstream did (RFC 3225 3).
                wire[optRange.lowerBound + 3] = UInt8(ResponseBuilder.advertisedUDPSize >> 8)
                wire[optRange.lowerBound + 4] = UInt8(truncatingIfNeeded: ResponseBuilder.advertisedUDPSize)
                wire[optRange.lowerBound + 7] = (wire[optRange.lowerBound + 7] & 0x7F) | (query.dnssecOK ? 0x80 : 0)
            } else {
                // RFC 6891 7: no OPT in a response to a query without one.
                wire.removeSubrange(optRange)
                let additional = (UInt16(wire[10]) << 8 | UInt16(wire[11])) &- 1
                wire[10] = UInt8(additional >> 8)
                wire[11] = UInt8(truncatingIfNeeded: additional)
            }
        } else if query.hasEDNS {
            // RFC 6891 7: an EDNS query gets an OPT back, even if the upstream sent none.
            wire += ResponseBuilder.opt(dnssecOK: query.dnssecOK)
            let additional = (UInt16(wire[10]) << 8 | UInt16(wire[11])) &+ 1
            wire[10] = UInt8(additional >> 8)
            wire[11] = UInt8(truncatingIfNeeded: additional)
        }
        if wire.count > query.maximumReply {
            let header = wire.withUnsafeBytes { DNSHeader(wire: $0) } ?? DNSHeader(id: query.id, flags: 0x8000)
            return ResponseBuilder.truncated(replyHeader: header, for: query)
        }
        return wire
    }
}
