/// Reads client queries. The common shape (one question, no records but an
/// optional OPT) is read straight from the wire, without ldns, because it is on
/// every cache hit; anything else is checked by a full ldns parse first.
public enum ClientQueryParser {
    /// Classifies wire bytes from a client. Never traps on any input.
    public static func classify(_ wire: UnsafeRawBufferPointer) -> ClientQueryVerdict {
        guard let header = DNSHeader(wire: wire) else { return .drop("shorter than a DNS header") }
        if header.isResponse { return .drop("QR set: a response, not a query") }
        // RFC 1035 4.1.1: only QUERY is forwarded; NOTIFY/UPDATE/STATUS are not ours to relay.
        guard header.opcode == 0 else {
            return .respond(ResponseBuilder.headerOnly(for: header, code: .notImplemented), .notImplemented, nil)
        }
        let formatError = ClientQueryVerdict.respond(ResponseBuilder.headerOnly(for: header, code: .formatError), .formatError, nil)
        guard header.questionCount == 1 else { return formatError }
        let reader = WireReader(bytes: wire)
        guard let nameEnd = reader.uncompressedNameEnd(at: DNSHeader.length),
              let type = reader.u16(at: nameEnd), let qclass = reader.u16(at: nameEnd + 2) else { return formatError }
        let questionEnd = nameEnd + 4

        var edns: (size: UInt16, dnssecOK: Bool, version: UInt8)?
        if header.answerCount == 0, header.authorityCount == 0, header.additionalCount <= 1 {
            if header.additionalCount == 1 {
                guard let opt = readOPT(reader, at: questionEnd, end: wire.count) else { return formatError }
                edns = opt
            } else if questionEnd != wire.count {
                return formatError
            }
        } else {
            // Unusual shape: let ldns decide whether it is a DNS message at all, and
            // take EDNS from what it found.
            guard let packet = try? LdnsPacket(wire: wire) else { return formatError }
            if packet.hasEDNS { edns = (packet.ednsUDPSize, packet.ednsDO, packet.ednsVersion) }
        }

        let original = Array(wire[DNSHeader.length..<nameEnd])
        // The key is the name lowercased; most clients ask in lowercase, and
        // then both share one buffer.
        let name = original.contains(where: { $0 >= 0x41 && $0 <= 0x5A }) ? original.map(DNSName.foldCase) : original
        let question = DNSQuestion(name: DNSName(wire: original), type: type, class: qclass)
        if let edns, edns.version != 0 {
            // RFC 6891 6.1.3: we speak version 0 only.
            let reply = ResponseBuilder.badVersion(id: header.id, flags: header.flags, question: question)
            return .respond(reply, .badVersion, question)
        }
        if type == DNSRecordType.axfr || type == DNSRecordType.ixfr {
            // Zone transfers need TCP and an authority; a forwarder refuses them.
            let reply = ResponseBuilder.response(id: header.id, flags: header.flags, question: question,
                                                 code: .refused, withOPT: edns != nil, dnssecOK: edns?.dnssecOK ?? false)
            return .respond(reply, .refused, question)
        }
        let key = CacheKey(name: name, type: type, class: qclass, dnssecOK: edns?.dnssecOK ?? false,
                           checkingDisabled: header.checkingDisabled)
        let maximum = edns.map { max(512, Int($0.size)) } ?? 512
        return .answer(ClientQuery(id: header.id, question: question, key: key,
                                   questionEnd: questionEnd, maximumReply: maximum, hasEDNS: edns != nil,
                                   requestFlags: header.flags & 0x0130))
    }

    /// A query in the plain shape every cache hit has, read without allocating:
    /// QUERY, one uncompressed question, no records but an optional final OPT
    /// of version 0, and not a zone transfer. Nil for anything else, which
    /// `classify` then handles (and answers with an error where due).
    struct PlainQuery {
        let header: DNSHeader
        let nameEnd: Int
        let type: UInt16
        let qclass: UInt16
        let ednsSize: UInt16?
        let dnssecOK: Bool
    }

    static func plainQuery(_ wire: UnsafeRawBufferPointer) -> PlainQuery? {
        guard let header = DNSHeader(wire: wire), !header.isResponse, header.opcode == 0, header.questionCount == 1,
              header.answerCount == 0, header.authorityCount == 0, header.additionalCount <= 1 else { return nil }
        let reader = WireReader(bytes: wire)
        guard let nameEnd = reader.uncompressedNameEnd(at: DNSHeader.length),
              let type = reader.u16(at: nameEnd), let qclass = reader.u16(at: nameEnd + 2),
              type != DNSRecordType.axfr, type != DNSRecordType.ixfr else { return nil }
        let questionEnd = nameEnd + 4
        if header.additionalCount == 0 {
            guard questionEnd == wire.count else { return nil }
            return PlainQuery(header: header, nameEnd: nameEnd, type: type, qclass: qclass, ednsSize: nil, dnssecOK: false)
        }
        guard let opt = readOPT(reader, at: questionEnd, end: wire.count), opt.version == 0 else { return nil }
        return PlainQuery(header: header, nameEnd: nameEnd, type: type, qclass: qclass, ednsSize: opt.size, dnssecOK: opt.dnssecOK)
    }

    /// The question of a plain query, for logging an answer the fast path gave.
    public static func question(of wire: UnsafeRawBufferPointer) -> DNSQuestion? {
        guard let plain = plainQuery(wire) else { return nil }
        return DNSQuestion(name: DNSName(wire: Array(wire[DNSHeader.length..<plain.nameEnd])), type: plain.type, class: plain.qclass)
    }

    /// The OPT pseudo-record (RFC 6891 6.1.2) that must end the message.
    private static func readOPT(_ reader: WireReader, at offset: Int, end: Int) -> (size: UInt16, dnssecOK: Bool, version: UInt8)? {
        guard offset < end, reader.bytes[offset] == 0,
              reader.u16(at: offset + 1) == 41,
              let size = reader.u16(at: offset + 3),
              let extended = reader.u32(at: offset + 5),
              let length = reader.u16(at: offset + 9),
              offset + 11 + Int(length) == end else { return nil }
        return (size, extended & 0x8000 != 0, UInt8(truncatingIfNeeded: extended >> 16))
    }
}
