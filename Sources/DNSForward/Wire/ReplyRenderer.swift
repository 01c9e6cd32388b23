/// Turns a stored or fresh response into the bytes one client gets: its ID,
/// its letter case in the question, TTLs aged by the time in cache, OPT kept
/// only if the client sent one, and TC when it exceeds the client's buffer.
/// Pure byte patching: no parse on the cache-hit path. `write` does the work
/// into caller-owned memory (the allocation-free cache hit); the array forms
/// wrap it for everything else.
enum ReplyRenderer {
    /// The parts of the client's query that shape its copy of a reply.
    struct Personalization {
        var id: UInt16
        /// RD, AD and CD as the client set them.
        var requestFlags: HeaderFlags
        var hasEDNS: Bool
        var dnssecOK: Bool
        var maximumReply: Int

        init(id: UInt16, requestFlags: HeaderFlags, hasEDNS: Bool, dnssecOK: Bool, maximumReply: Int) {
            self.id = id
            self.requestFlags = requestFlags
            self.hasEDNS = hasEDNS
            self.dnssecOK = dnssecOK
            self.maximumReply = maximumReply
        }

        init(_ query: ClientQuery) {
            self.init(id: query.id, requestFlags: query.requestFlags, hasEDNS: query.hasEDNS,
                      dnssecOK: query.dnssecOK, maximumReply: query.maximumReply)
        }
    }

    static func render(_ answer: CachedAnswer, for query: ClientQuery, now: MonotonicInstant,
                       fixedTTL: UInt32? = nil) -> [UInt8] {
        answer.wire.withUnsafeBytes { wire in
            answer.ttlOffsets.withUnsafeBufferPointer { offsets in
                personalize(wire, ttlOffsets: offsets, optRange: answer.optRange, recordsAfterOPT: answer.recordsAfterOPT,
                            ttl: fixedTTL.map { .fixed($0) } ?? .aged(answer.age(at: now)), for: query)
            }
        }
    }

    /// A cached entry's reply, read in place.
    static func render(_ entry: CacheEntry, for query: ClientQuery, now: MonotonicInstant,
                       fixedTTL: UInt32? = nil) -> [UInt8] {
        let ttl = fixedTTL.map { TTLRewrite.fixed($0) } ?? .aged(entry.age(at: now))
        return entry.withParts { stored in
            personalize(stored.wire, ttlOffsets: stored.ttlOffsets, optRange: stored.optRange,
                        recordsAfterOPT: stored.recordsAfterOPT, ttl: ttl, for: query)
        }
    }

    /// ID, question case, RD and OPT handling for a reply fresh from upstream.
    static func personalize(_ reply: [UInt8], optRange: Range<Int>?, recordsAfterOPT: Int,
                            for query: ClientQuery) -> [UInt8] {
        reply.withUnsafeBytes {
            personalize($0, ttlOffsets: UnsafeBufferPointer(start: nil, count: 0), optRange: optRange,
                        recordsAfterOPT: recordsAfterOPT, ttl: .keep, for: query)
        }
    }

    private static func personalize(_ reply: UnsafeRawBufferPointer, ttlOffsets: UnsafeBufferPointer<UInt16>,
                                     optRange: Range<Int>?, recordsAfterOPT: Int, ttl: TTLRewrite,
                                     for query: ClientQuery) -> [UInt8] {
        let personalization = Personalization(query)
        var fits = false
        let bytes = [UInt8](unsafeUninitializedCapacity: reply.count + OPTRecord.length) { buffer, count in
            let written = query.question.name.wire.withUnsafeBytes { name in
                write(reply, ttlOffsets: ttlOffsets, optRange: optRange, recordsAfterOPT: recordsAfterOPT, ttl: ttl,
                      for: personalization, questionName: name, into: UnsafeMutableRawBufferPointer(buffer))
            }
            fits = written != nil
            count = written ?? 0
        }
        if fits { return bytes }
        // Over the client's limit: header and question with TC, so it retries over TCP.
        var header = DNSHeader(wire: reply) ?? DNSHeader(id: query.id, flags: .qr)
        header.flags.subtract(Self.clearedFlags)
        header.flags.formUnion(query.requestFlags.intersection(copiedFlags).union(.ra))
        return ResponseBuilder.truncated(replyHeader: header, for: query)
    }

    /// AA goes (we are not the authority for relayed or cached data); RD and
    /// CD are the client's own (RFC 1035 4.1.1, RFC 4035 3.2.2), whatever the
    /// upstream's reply or the query that filled the cache entry said.
    private static let clearedFlags: HeaderFlags = [.aa, .rd, .cd]
    private static let copiedFlags: HeaderFlags = [.rd, .cd]

    /// Writes `stored`, personalized, into `out`; returns its length, or nil
    /// when it would exceed the client's limit or `out` (the caller answers
    /// with TC instead). RD and CD mirror the query (RFC 1035 4.1.1, RFC 4035
    /// 3.2.2); AA goes, since
    /// we are not the authority for relayed or cached data; RA is set, since
    /// recursion is what we offer. `questionName` is the client's own spelling.
    ///
    /// A client without EDNS gets no OPT (RFC 6891 7), and none of the
    /// additional records after it either: the reply is cut where OPT starts.
    /// Cutting a record out of the middle would leave any later compression
    /// pointer to a name behind it pointing at the wrong bytes (found by
    /// fuzzing), and additional data may always be left out (RFC 2181 9).
    static func write(_ stored: UnsafeRawBufferPointer, ttlOffsets: UnsafeBufferPointer<UInt16>, optRange: Range<Int>?, recordsAfterOPT: Int,
                      ttl: TTLRewrite, for client: Personalization, questionName: UnsafeRawBufferPointer,
                      into out: UnsafeMutableRawBufferPointer) -> Int? {
        guard stored.count >= DNSHeader.length else { return nil }
        // RFC 6891 7: OPT in the reply exactly when the query had one.
        let dropsOPT = optRange != nil && !client.hasEDNS
        let addsOPT = optRange == nil && client.hasEDNS
        let kept = dropsOPT ? optRange!.lowerBound : stored.count
        let length = kept + (addsOPT ? OPTRecord.length : 0)
        guard length <= client.maximumReply, length <= out.count else { return nil }

        out.baseAddress!.copyMemory(from: stored.baseAddress!, byteCount: kept)
        ttl.apply(to: out, at: ttlOffsets, below: kept)
        out[0] = UInt8(client.id >> 8)
        out[1] = UInt8(truncatingIfNeeded: client.id)
        DNSHeader.rewriteFlags(in: out, removing: clearedFlags, inserting: client.requestFlags.intersection(copiedFlags).union(.ra))
        if length >= DNSHeader.length + questionName.count {
            (out.baseAddress! + DNSHeader.length).copyMemory(from: questionName.baseAddress!, byteCount: questionName.count)
        }
        if addsOPT {
            // A blank OPT, filled in below like the upstream's.
            OPTRecord.writeBlank(into: out, at: stored.count)
        }
        if client.hasEDNS {
            // Advertise our own buffer size, not the upstream's, and echo the
            // client's DO bit whatever the upstream did (RFC 3225 3).
            OPTRecord.patch(out, at: optRange?.lowerBound ?? stored.count, udpSize: ResponseBuilder.advertisedUDPSize,
                            dnssecOK: client.dnssecOK)
        }
        if dropsOPT || addsOPT {
            DNSHeader.updateAdditionalCount(in: out) { count in
                addsOPT ? count &+ 1 : count &- UInt16(truncatingIfNeeded: 1 + recordsAfterOPT)
            }
        }
        return length
    }
}
