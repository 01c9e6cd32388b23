/// Reads client queries. The common shape (one question, no records but an
/// optional OPT) is read straight from the wire, without ldns, because it is on
/// every cache hit; anything else is checked by a full ldns parse first.
public enum ClientQueryParser {
    /// Classifies wire bytes from a client. Never traps on any input.
    public static func classify(_ wire: UnsafeRawBufferPointer) -> ClientQueryVerdict {
        guard let header = DNSHeader(wire: wire) else { return .drop("shorter than a DNS header") }
        if header.isResponse { return .drop("QR set: a response, not a query") }
        // RFC 1035 4.1.1: only QUERY is forwarded; NOTIFY/UPDATE/STATUS are not ours to relay.
        guard header.opcode == .query else {
            return .respond(ResponseBuilder.headerOnly(for: header, code: .notImplemented), .notImplemented, nil)
        }
        let formatError = ClientQueryVerdict.respond(ResponseBuilder.headerOnly(for: header, code: .formatError), .formatError, nil)
        guard header.questionCount == 1 else { return formatError }
        let reader = WireReader(bytes: wire)
        guard let nameEnd = reader.uncompressedNameEnd(at: DNSHeader.length),
              let type = reader.recordType(at: nameEnd), let qclass = reader.recordClass(at: nameEnd + 2) else {
            return formatError
        }
        let questionEnd = nameEnd + 4

        var edns: OPTRecord.Fields?
        if header.answerCount == 0, header.authorityCount == 0, header.additionalCount <= 1 {
            if header.additionalCount == 1 {
                guard let opt = OPTRecord.read(reader, at: questionEnd, end: wire.count) else { return formatError }
                edns = opt
            } else if questionEnd != wire.count {
                return formatError
            }
        } else {
            // Unusual shape: let ldns decide whether it is a DNS message at all, and
            // take EDNS from what it found.
            guard let packet = try? LdnsPacket(wire: wire) else { return formatError }
            if packet.hasEDNS {
                edns = OPTRecord.Fields(udpSize: packet.ednsUDPSize, dnssecOK: packet.ednsDO, version: packet.ednsVersion)
            }
        }

        let original = Array(wire[DNSHeader.length..<nameEnd])
        // The key is the name lowercased; most clients ask in lowercase, and
        // then both share one buffer.
        let name = original.contains(where: { DNSName.foldCase($0) != $0 }) ? original.map(DNSName.foldCase) : original
        let question = DNSQuestion(name: DNSName(wire: original), type: type, class: qclass)
        if let edns, edns.version != 0 {
            // RFC 6891 6.1.3: we speak version 0 only.
            let reply = ResponseBuilder.badVersion(id: header.id, flags: header.flags, question: question)
            return .respond(reply, .badVersion, question)
        }
        if type.isZoneTransfer {
            // Zone transfers need TCP and an authority; a forwarder refuses them.
            let reply = ResponseBuilder.response(id: header.id, flags: header.flags, question: question,
                                                 code: .refused, withOPT: edns != nil, dnssecOK: edns?.dnssecOK ?? false)
            return .respond(reply, .refused, question)
        }
        let key = CacheKey(name: name, type: type, class: qclass, dnssecOK: edns?.dnssecOK ?? false,
                           checkingDisabled: header.checkingDisabled)
        let maximum = Self.maximumReply(ednsSize: edns?.udpSize)
        return .answer(ClientQuery(id: header.id, question: question, key: key,
                                   questionEnd: questionEnd, maximumReply: maximum, hasEDNS: edns != nil,
                                   requestFlags: header.flags.intersection(.request)))
    }

    /// A query in the plain shape every cache hit has, read without allocating:
    /// QUERY, one uncompressed question, no records but an optional final OPT
    /// of version 0, and not a zone transfer. Nil for anything else, which
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
              !type.isZoneTransfer else { return nil }
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
