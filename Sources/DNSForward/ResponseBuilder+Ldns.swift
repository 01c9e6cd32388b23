internal import CLdns

/// ldns-built responses, for callers that already hold a parsed packet.
extension ResponseBuilder {
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
                ldns_pkt_set_rcode(target, UInt8(code.headerBits))
                if let questions = ldns_pkt_question(source), let copy = ldns_rr_list_clone(questions) {
                    ldns_pkt_push_rr_list(target, LDNS_SECTION_QUESTION, copy)
                    // push_rr_list takes the RRs, not the list itself.
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
}
