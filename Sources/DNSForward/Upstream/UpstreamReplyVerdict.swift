/// Whether a message from an upstream answers the query we sent it.
public enum UpstreamReplyVerdict: Sendable {
    case accept(MessageLayout)
    case reject(String)
    /// Our ID and our question, but not the letter case we sent (DNS 0x20):
    /// a forgery that guessed the ID, or an upstream that rewrites case.
    case wrongCase
}

public enum UpstreamReplyValidator {
    /// Accepts only a well-formed response with our ID and our question (the
    /// defences against off-path spoofing of RFC 5452 section 4; address and
    /// port are checked by the connected socket), whose records parse to the
    /// last byte (`MessageLayout`, with the RDATA shapes of `RecordDataShape`).
    /// Anything else is dropped while the query keeps waiting. Read from the
    /// wire without allocating or ldns: this runs on every upstream reply.
    /// `exactName`: the name as sent with randomized case, which the reply's
    /// question must echo octet for octet; nil compares names as DNS does.
    public static func validate(_ wire: UnsafeRawBufferPointer, expectedID: UInt16, question: DNSQuestion,
                                exactName: DNSName? = nil) -> UpstreamReplyVerdict {
        guard let header = DNSHeader(wire: wire) else { return .reject("shorter than a DNS header") }
        guard header.isResponse else { return .reject("QR not set") }
        guard header.id == expectedID else { return .reject("ID \(header.id) is not \(expectedID)") }
        guard header.opcode == .query else { return .reject("opcode \(header.opcode.rawValue)") }
        guard header.questionCount == 1 else { return .reject("\(header.questionCount) questions") }
        let reader = WireReader(bytes: wire)
        // Nothing precedes the question that a pointer could name (the header is not a name).
        guard let nameEnd = reader.uncompressedNameEnd(at: DNSHeader.length),
              let type = reader.recordType(at: nameEnd), let qclass = reader.recordClass(at: nameEnd + 2) else {
            return .reject("unparsable question")
        }
        let echoed = UnsafeRawBufferPointer(rebasing: wire[DNSHeader.length..<nameEnd])
        guard type == question.type, qclass == question.class, question.name.matches(wire: echoed) else {
            return .reject("question does not match")
        }
        if let exactName, !exactName.wire.withUnsafeBytes({ $0.elementsEqual(echoed) }) { return .wrongCase }
        guard let layout = MessageLayout(wire: wire) else { return .reject("records do not parse to the end of the message") }
        return .accept(layout)
    }
}
