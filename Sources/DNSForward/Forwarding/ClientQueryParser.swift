/// Reads client queries. The common shape (one question, no records but an
/// optional OPT) is read straight from the wire, without ldns, because it is on
/// every cache hit; anything else is checked by a full ldns parse first.
public enum ClientQueryParser {
    /// Classifies wire bytes from a client. Never traps on any input.
    public static func classify(_ wire: UnsafeRawBufferPointer) -> ClientQueryVerdict {
        guard let header = DNSHeader(wire: wire) else { return .drop("shorter than a DNS header") }
        if header.isResponse { return .drop("QR set: a response, not a query") }
        let reader = WireReader(bytes: wire)
        let records = QueryRecords(reader, header: header)
        let first = header.questionCount == 1 ? firstQuestion(reader) : nil
        let question = first.map { DNSQuestion(name: DNSName(wire: Array(wire[DNSHeader.length..<$0.nameEnd])),
                                               type: $0.type, class: $0.qclass) }
        func error(_ code: DNSResponseCode) -> ClientQueryVerdict {
            let echo = records.sawOPT ? ResponseBuilder.EDNSEcho(dnssecOK: records.dnssecOK) : nil
            return .respond(ResponseBuilder.error(for: header, question: question, code: code, edns: echo), code, question)
        }
        // RFC 1035 4.1.1: only QUERY is forwarded; NOTIFY/UPDATE/STATUS are not ours to relay.
        guard header.opcode == .query else { return error(.notImplemented) }
        // One question, records that parse to the end, one well-formed OPT at most
        // (RFC 6891 6.1.1, 7); anything else is FORMERR, as knotd answers it.
        guard let first, let question, records.isWellFormed else { return error(.formatError) }
        if header.answerCount != 0 || header.authorityCount != 0 || header.additionalCount > 1 {
            // Unusual shape: let ldns decide whether its records are DNS at all.
            guard (try? LdnsPacket(wire: wire)) != nil else { return error(.formatError) }
        }
        let edns = records.edns
        // RFC 6891 6.1.3: we speak version 0 only.
        if let edns, edns.version != 0 { return error(.badVersion) }
        // Zone transfers need TCP and an authority; a forwarder refuses them.
        if first.type.isZoneTransfer { return error(.refused) }
        let original = wire[DNSHeader.length..<first.nameEnd]
        // The key is the name lowercased; most clients ask in lowercase, and
        // then both share one buffer.
        let name = original.contains(where: { DNSName.foldCase($0) != $0 }) ? original.map(DNSName.foldCase)
                                                                             : question.name.wire
        let key = CacheKey(name: name, type: first.type, class: first.qclass, dnssecOK: edns?.dnssecOK ?? false,
                           checkingDisabled: header.checkingDisabled)
        let maximum = Self.maximumReply(ednsSize: edns?.udpSize)
        return .answer(ClientQuery(id: header.id, question: question, key: key,
                                   questionEnd: first.nameEnd + 4, maximumReply: maximum, hasEDNS: edns != nil,
                                   requestFlags: header.flags.intersection(.request)))
    }

    /// The first question's name end, type and class: its name uncompressed
    /// (there is nothing before it to point at) and within 255 octets.
    private static func firstQuestion(_ reader: WireReader) -> (nameEnd: Int, type: RecordType, qclass: RecordClass)? {
        guard let nameEnd = reader.uncompressedNameEnd(at: DNSHeader.length),
              let type = reader.recordType(at: nameEnd), let qclass = reader.recordClass(at: nameEnd + 2) else { return nil }
        return (nameEnd, type, qclass)
    }

    /// A query in the plain shape every cache hit has, read without allocating:
    /// QUERY, one uncompressed question, no records but an optional final OPT
    /// of version 0 with whole options, not a zone transfer and not class
    /// CHAOS (the daemon's own identity answers, `ServerIdentity`). Nil for anything else, which
    /// `classify` then handles (and answers with an error where due).
    struct PlainQuery {
        let header: DNSHeader
        let nameEnd: Int
        let type: RecordType
        let qclass: RecordClass
        let ednsSize: UInt16?
        let dnssecOK: Bool
    }

    static func plainQuery(_ wire: UnsafeRawBufferPointer) -> PlainQuery? {
        guard let header = DNSHeader(wire: wire), !header.isResponse, header.opcode == .query, header.questionCount == 1,
              header.answerCount == 0, header.authorityCount == 0, header.additionalCount <= 1 else { return nil }
        let reader = WireReader(bytes: wire)
        guard let nameEnd = reader.uncompressedNameEnd(at: DNSHeader.length),
              let type = reader.recordType(at: nameEnd), let qclass = reader.recordClass(at: nameEnd + 2),
              !type.isZoneTransfer, qclass != .chaos else { return nil }
        let questionEnd = nameEnd + 4
        if header.additionalCount == 0 {
            guard questionEnd == wire.count else { return nil }
            return PlainQuery(header: header, nameEnd: nameEnd, type: type, qclass: qclass, ednsSize: nil, dnssecOK: false)
        }
        guard let opt = OPTRecord.read(reader, at: questionEnd, end: wire.count), opt.version == 0 else { return nil }
        return PlainQuery(header: header, nameEnd: nameEnd, type: type, qclass: qclass, ednsSize: opt.udpSize,
                          dnssecOK: opt.dnssecOK)
    }

    /// The question of a plain query, for logging an answer the fast path gave.
    public static func question(of wire: UnsafeRawBufferPointer) -> DNSQuestion? {
        guard let plain = plainQuery(wire) else { return nil }
        return DNSQuestion(name: DNSName(wire: Array(wire[DNSHeader.length..<plain.nameEnd])), type: plain.type, class: plain.qclass)
    }

    /// Largest reply a client accepts: its EDNS size, at least 512, else 512
    /// (RFC 6891 6.2.3, RFC 1035 4.2.1).
    @inline(__always)
    static func maximumReply(ednsSize: UInt16?) -> Int {
        ednsSize.map { max(minimumUDPReply, Int($0)) } ?? minimumUDPReply
    }

    private static let minimumUDPReply = 512
}
