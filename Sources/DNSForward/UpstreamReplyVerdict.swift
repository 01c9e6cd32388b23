/// Whether a datagram from an upstream answers the query we sent it.
public enum UpstreamReplyVerdict: Equatable, Sendable {
    case accept
    case reject(String)
}

public enum UpstreamReplyValidator {
    /// Accepts only a well-formed response with our ID and our question
    /// (the defences against off-path spoofing that RFC 5452 section 4 lists;
    /// address and port are checked by the connected socket). Anything else is
    /// dropped while the query keeps waiting for the real answer.
    public static func validate(_ wire: UnsafeRawBufferPointer, expectedID: UInt16, question: DNSQuestion) -> UpstreamReplyVerdict {
        guard let header = DNSHeader(wire: wire) else { return .reject("shorter than a DNS header") }
        guard header.isResponse else { return .reject("QR not set") }
        guard header.id == expectedID else { return .reject("ID \(header.id) is not \(expectedID)") }
        guard header.opcode == 0 else { return .reject("opcode \(header.opcode)") }
        guard header.questionCount == 1 else { return .reject("\(header.questionCount) questions") }
        let packet: LdnsPacket
        do {
            packet = try LdnsPacket(wire: wire)
        } catch {
            return .reject("unparsable: \(error.message)")
        }
        guard let echoed = packet.firstQuestion, echoed.matches(question) else {
            return .reject("question does not match")
        }
        return .accept
    }
}
