internal import CLdns

/// Responses the daemon originates itself: errors and truncated replies.
public enum ResponseBuilder {
    /// EDNS buffer size we advertise in responses we originate (DNS flag day 2020).
    public static let advertisedUDPSize: UInt16 = 1232

    /// Header only: ID, opcode and RD copied from the query, QR set, no sections.
    /// For queries too broken to echo a question from (RFC 1035 4.1.1).
    public static func headerOnly(for query: DNSHeader, code: DNSResponseCode) -> [UInt8] {
        let copied = query.flags & 0x7900  // opcode and RD
        return DNSHeader(id: query.id, flags: 0x8000 | copied | UInt16(code.rawValue)).bytes
    }

    /// A response echoing the query's question (and an OPT record if the query
    /// had one, RFC 6891 7), with `code` and no records.
    static func response(to query: LdnsPacket, code: DNSResponseCode) throws(LdnsError) -> [UInt8] {
        let response = try LdnsPacket()
        query.withPacket { source in
            response.withPacket { target in
                ldns_pkt_set_id(target, ldns_pkt_id(source))
                ldns_pkt_set_qr(target, true)
                ldns_pkt_set_opcode(target, ldns_pkt_get_opcode(source))
                ldns_pkt_set_rd(target, ldns_pkt_rd(source))
                ldns_pkt_set_cd(target, ldns_pkt_cd(source))
                ldns_pkt_set_ra(target, true)
                ldns_pkt_set_rcode(target, code.rawValue)
                if let questions = ldns_pkt_question(source), let copy = ldns_rr_list_clone(questions) {
                    ldns_pkt_push_rr_list(target, LDNS_SECTION_QUESTION, copy)
                    // push_rr_list copies the RR pointers, not the list itself.
                    ldns_rr_list_free(copy)
                }
                if ldns_pkt_edns(source) {
                    ldns_pkt_set_edns_udp_size(target, advertisedUDPSize)
                    ldns_pkt_set_edns_do(target, ldns_pkt_edns_do(source))
                }
            }
        }
        return try response.wire()
    }

    /// SERVFAIL for a query we could not get answered.
    public static func serverFailure(for query: ClientQuery) -> [UInt8] {
        let fallback = headerOnlyResponse(queryWire: query.wire, code: .serverFailure)
        return query.wire.withUnsafeBytes { wire in
            guard let packet = try? LdnsPacket(wire: wire) else { return fallback }
            return (try? response(to: packet, code: .serverFailure)) ?? fallback
        }
    }

    /// The reply cut down to header + question with TC set, for a client whose
    /// buffer it does not fit (RFC 2181 9, RFC 6891 7): the client retries over TCP.
    /// Keeps the reply's OPT record so the client still sees EDNS.
    public static func truncated(reply: [UInt8]) -> [UInt8]? {
        reply.withUnsafeBytes { wire -> [UInt8]? in
            guard let packet = try? LdnsPacket(wire: wire) else { return nil }
            packet.withPacket { pkt in
                for section in [LDNS_SECTION_ANSWER, LDNS_SECTION_AUTHORITY, LDNS_SECTION_ADDITIONAL] {
                    let empty = ldns_rr_list_new()
                    switch section {
                    case LDNS_SECTION_ANSWER:
                        ldns_rr_list_deep_free(ldns_pkt_answer(pkt))
                        ldns_pkt_set_answer(pkt, empty)
                        ldns_pkt_set_ancount(pkt, 0)
                    case LDNS_SECTION_AUTHORITY:
                        ldns_rr_list_deep_free(ldns_pkt_authority(pkt))
                        ldns_pkt_set_authority(pkt, empty)
                        ldns_pkt_set_nscount(pkt, 0)
                    default:
                        ldns_rr_list_deep_free(ldns_pkt_additional(pkt))
                        ldns_pkt_set_additional(pkt, empty)
                        ldns_pkt_set_arcount(pkt, 0)
                    }
                }
                ldns_pkt_set_tc(pkt, true)
            }
            return try? packet.wire()
        }
    }

    private static func headerOnlyResponse(queryWire: [UInt8], code: DNSResponseCode) -> [UInt8] {
        let header = queryWire.withUnsafeBytes { DNSHeader(wire: $0) } ?? DNSHeader(id: 0, flags: 0)
        return headerOnly(for: header, code: code)
    }
}
