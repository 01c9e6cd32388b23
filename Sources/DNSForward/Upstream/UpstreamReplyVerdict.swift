/// Whether a message from an upstream answers the query we sent it.
public enum UpstreamReplyVerdict: Sendable {
    case accept(MessageLayout)
    case reject(String)
}

public enum UpstreamReplyValidator {
    /// Accepts only a well-formed response with our ID and our question (the
    /// defences against off-path spoofing of RFC 5452 section 4; address and
    /// port are checked by the connected socket), whose records parse to the
    /// last byte. Anything else is dropped while the query keeps waiting.
    public static func validate(_ wire: UnsafeRawBufferPointer, expectedID: UInt16, question: DNSQuestion) -> UpstreamReplyVerdict {
        guard let header = DNSHeader(wire: wire) else { return .reject("shorter than a DNS header") }
        guard header.isResponse else { return .reject("QR not set") }
        guard header.id == expectedID else { return .reject("ID \(header.id) is not \(expectedID)") }
        guard header.opcode == .query else { return .reject("opcode \(header.opcode.rawValue)") }
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
        guard let layout = MessageLayout(wire: wire) else { return .reject("records do not end where the message does") }
        return .accept(layout)
    }
}
