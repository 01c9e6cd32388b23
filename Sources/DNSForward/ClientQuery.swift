/// A query from a client that parsed cleanly and is worth forwarding.
public struct ClientQuery: Sendable {
    public let id: UInt16
    public let question: DNSQuestion
    /// The client's wire bytes, forwarded upstream with only the ID replaced so
    /// EDNS options, the DO/CD/RD bits and the name's letter case pass through.
    public let wire: [UInt8]
    /// Largest UDP reply the client accepts: its EDNS size, else 512 (RFC 6891 6.2.3, RFC 1035 4.2.1).
    public let maximumUDPReply: Int
    public let hasEDNS: Bool
}

/// What to do with a datagram a client sent.
public enum ClientQueryVerdict: Sendable {
    case forward(ClientQuery)
    /// Answer at once (FORMERR, NOTIMP, REFUSED) without going upstream.
    case respond([UInt8], DNSResponseCode)
    /// Not even a DNS header, or a response rather than a query: say nothing,
    /// so we can never be used to reflect traffic.
    case drop(String)
}

public enum ClientQueryParser {
    /// Classifies wire bytes from a client. Never traps on any input.
    public static func classify(_ wire: UnsafeRawBufferPointer) -> ClientQueryVerdict {
        guard let header = DNSHeader(wire: wire) else { return .drop("shorter than a DNS header") }
        if header.isResponse { return .drop("QR set: a response, not a query") }
        // RFC 1035 4.1.1: only QUERY is forwarded; NOTIFY/UPDATE/STATUS are not ours to relay.
        guard header.opcode == 0 else {
            return .respond(ResponseBuilder.headerOnly(for: header, code: .notImplemented), .notImplemented)
        }
        guard header.questionCount == 1 else {
            return .respond(ResponseBuilder.headerOnly(for: header, code: .formatError), .formatError)
        }
        let packet: LdnsPacket
        do {
            packet = try LdnsPacket(wire: wire)
        } catch {
            return .respond(ResponseBuilder.headerOnly(for: header, code: .formatError), .formatError)
        }
        guard let question = packet.firstQuestion else {
            return .respond(ResponseBuilder.headerOnly(for: header, code: .formatError), .formatError)
        }
        if question.type == DNSRecordType.axfr || question.type == DNSRecordType.ixfr {
            // Zone transfers need TCP and an authority; a forwarder refuses them.
            let reply = (try? ResponseBuilder.response(to: packet, code: .refused))
                ?? ResponseBuilder.headerOnly(for: header, code: .refused)
            return .respond(reply, .refused)
        }
        let maximum = packet.hasEDNS ? max(512, Int(packet.ednsUDPSize)) : 512
        return .forward(ClientQuery(id: header.id, question: question, wire: Array(wire),
                                    maximumUDPReply: maximum, hasEDNS: packet.hasEDNS))
    }
}
