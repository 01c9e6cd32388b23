/// The daemon's answer to a blocked name or a refusing route.
public enum BlockedReply {
    /// TTL of null answers: short, so a name taken off the list works again soon.
    static let nullTTL: UInt32 = 60

    public static func render(_ answer: BlockAnswer, for query: ClientQuery) -> (bytes: [UInt8], code: DNSResponseCode) {
        switch answer {
        case .nxdomain: return (reply(query, code: .nameError), .nameError)
        case .refused: return (reply(query, code: .refused), .refused)
        case .null: return (nullReply(query), .noError)
        }
    }

    static func reply(_ query: ClientQuery, code: DNSResponseCode) -> [UInt8] {
        ResponseBuilder.response(id: query.id, flags: query.requestFlags, question: query.question, code: code,
                                 withOPT: query.hasEDNS, dnssecOK: query.dnssecOK)
    }

    /// 0.0.0.0 to A, :: to AAAA (class IN), NODATA to anything else.
    static func nullReply(_ query: ClientQuery) -> [UInt8] {
        let rdata: [UInt8]
        switch (query.question.type, query.question.class) {
        case (.a, .in): rdata = [0, 0, 0, 0]
        case (.aaaa, .in): rdata = [UInt8](repeating: 0, count: 16)
        default: return reply(query, code: .noError)
        }
        var flags = query.requestFlags.intersection([.rd, .cd]).union([.qr, .ra])
        flags.remove(.ad)
        var wire = DNSHeader(id: query.id, flags: flags, responseCode: .noError, questionCount: 1, answerCount: 1,
                             additionalCount: query.hasEDNS ? 1 : 0).bytes
        wire += query.question.wire
        // The owner is the question's name: a pointer to offset 12.
        wire += [0xC0, 0x0C]
        wire += bigEndian(query.question.type.rawValue) + bigEndian(query.question.class.rawValue)
        wire += bigEndian(UInt16(nullTTL >> 16)) + bigEndian(UInt16(nullTTL & 0xFFFF)) + bigEndian(UInt16(rdata.count)) + rdata
        if query.hasEDNS { wire += ResponseBuilder.opt(dnssecOK: query.dnssecOK) }
        return wire
    }

    private static func bigEndian(_ value: UInt16) -> [UInt8] { [UInt8(value >> 8), UInt8(value & 0xFF)] }
}
