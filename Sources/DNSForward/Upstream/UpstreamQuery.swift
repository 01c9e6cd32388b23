/// Builds what we send upstream: the client's question with RD/AD/CD as it set
/// them, a fresh ID, and our own OPT (our buffer size, the client's DO), so
/// every cached answer is an EDNS answer that any later client can be served from.
enum UpstreamQuery {
    static func wire(id: UInt16, question: ArraySlice<UInt8>, requestFlags: UInt16, dnssecOK: Bool) -> [UInt8] {
        var wire = DNSHeader(id: id, flags: requestFlags & 0x0130, questionCount: 1, additionalCount: 1).bytes
        wire.reserveCapacity(12 + question.count + 11)
        wire += question
        wire += ResponseBuilder.opt(dnssecOK: dnssecOK)
        return wire
    }

    /// `. IN NS` with RD: any valid response, even REFUSED, shows the upstream is alive.
    static func probe(id: UInt16) -> [UInt8] {
        wire(id: id, question: [0, 0, 2, 0, 1], requestFlags: 0x0100, dnssecOK: false)
    }

    static let probeQuestion = DNSQuestion(name: DNSName(wire: [0]), type: 2, class: 1)
}
