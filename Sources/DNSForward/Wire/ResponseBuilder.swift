/// Responses the daemon originates itself: errors, refusals and truncated
/// replies. Built from the query's own wire question, so they cost no parse.
public enum ResponseBuilder {
    /// EDNS buffer size we advertise (DNS flag day 2020): what fits one packet
    /// on any common path without fragmentation.
    public static let advertisedUDPSize: UInt16 = 1232

    /// An error the daemon answers a query with at once (FORMERR, NOTIMP,
    /// REFUSED, BADVERS): ID and opcode copied, QR set, RD and CD copied (RFC
    /// 1035 4.1.1, RFC 4035 3.2.2); the question when one could be read, else
    /// no sections; an OPT when the query had one, however broken (RFC 6891
    /// 7), with its DO bit (RFC 3225 3) and the extended RCODE bits. RA only
    /// for a query we understood: FORMERR and NOTIMP answer a message, not a
    /// question about recursion (as Unbound and knotd answer them).
    public static func error(for query: DNSHeader, question: DNSQuestion?, code: DNSResponseCode,
                             edns: EDNSEcho?) -> [UInt8] {
        var flags = query.flags.intersection([.rd, .cd]).union(.qr)
        if code != .formatError, code != .notImplemented { flags.insert(.ra) }
        var wire = DNSHeader(id: query.id, flags: flags, opcode: query.opcode, responseCode: code,
                             questionCount: question == nil ? 0 : 1, additionalCount: edns == nil ? 0 : 1).bytes
        if let question { wire += question.wire }
        if let edns { wire += opt(extendedCode: code.extendedBits, dnssecOK: edns.dnssecOK) }
        return wire
    }

    /// What an error reply repeats of a query's OPT: that there was one, and its DO bit.
    public struct EDNSEcho: Sendable {
        public let dnssecOK: Bool
    }

    /// Header + question (+ OPT when the client used EDNS, RFC 6891 7) and no records.
    public static func response(id: UInt16, flags queryFlags: HeaderFlags, question: DNSQuestion, code: DNSResponseCode,
                                withOPT: Bool, dnssecOK: Bool, truncated: Bool = false,
                                recursionAvailable: Bool = true) -> [UInt8] {
        // QR set; RD and CD copied.
        var flags = queryFlags.intersection([.rd, .cd]).union(.qr)
        if recursionAvailable { flags.insert(.ra) }
        if truncated { flags.insert(.tc) }
        var wire = DNSHeader(id: id, flags: flags, responseCode: code, questionCount: 1,
                             additionalCount: withOPT ? 1 : 0).bytes
        wire += question.wire
        if withOPT { wire += opt(extendedCode: code.extendedBits, dnssecOK: dnssecOK) }
        return wire
    }

    /// An OPT record advertising our UDP size (RFC 6891 6.1.2).
    static func opt(extendedCode: UInt8 = 0, dnssecOK: Bool) -> [UInt8] {
        OPTRecord.bytes(udpSize: advertisedUDPSize, extendedCode: extendedCode, dnssecOK: dnssecOK)
    }

    public static func serverFailure(for query: ClientQuery) -> [UInt8] {
        response(id: query.id, flags: query.requestFlags, question: query.question, code: .serverFailure,
                 withOPT: query.hasEDNS, dnssecOK: query.dnssecOK)
    }

    /// A reply cut to header + question with TC set, for a client whose buffer
    /// the full one does not fit (RFC 2181 9): the client retries over TCP.
    public static func truncated(replyHeader: DNSHeader, for query: ClientQuery) -> [UInt8] {
        var wire = response(id: query.id, flags: query.requestFlags, question: query.question,
                            code: replyHeader.responseCode, withOPT: query.hasEDNS, dnssecOK: query.dnssecOK,
                            truncated: true, recursionAvailable: replyHeader.flags.contains(.ra))
        // Keep AA and AD as the full reply had them.
        wire.withUnsafeMutableBytes { wire in
            DNSHeader.rewriteFlags(in: wire, removing: [], inserting: replyHeader.flags.intersection([.aa, .ad]))
        }
        return wire
    }

    /// The reply cut down to header + question with TC set, keeping its OPT
    /// record as it was. Nil when the reply's records do not parse.
    public static func truncated(reply: [UInt8]) -> [UInt8]? {
        reply.withUnsafeBytes { wire -> [UInt8]? in
            guard var header = DNSHeader(wire: wire), let layout = MessageLayout(wire: wire) else { return nil }
            let opt = layout.optRange.map { Array(wire[$0]) } ?? []
            header.flags.insert(.tc)
            header.questionCount = 1
            (header.answerCount, header.authorityCount, header.additionalCount) = (0, 0, opt.isEmpty ? 0 : 1)
            return header.bytes + wire[DNSHeader.length..<layout.questionEnd] + opt
        }
    }

    /// REFUSED for a client we do not serve (RFC 1035 4.1.1), echoing its
    /// question; nil when the datagram gets no answer at all (not a query).
    public static func refusal(forQuery wire: UnsafeRawBufferPointer) -> [UInt8]? {
        switch ClientQueryParser.classify(wire) {
        case .drop: return nil
        case .respond(let bytes, _, _): return bytes
        case .answer(let query):
            return response(id: query.id, flags: query.requestFlags, question: query.question, code: .refused,
                            withOPT: query.hasEDNS, dnssecOK: query.dnssecOK, recursionAvailable: false)
        }
    }
}
