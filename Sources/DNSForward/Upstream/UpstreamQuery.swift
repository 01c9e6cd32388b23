/// Builds what we send upstream: the client's question with RD/AD/CD as it set
/// them, a fresh ID, and our own OPT (our buffer size, the client's DO), so
/// every cached answer is an EDNS answer that any later client can be served from.
public enum UpstreamQuery {
    static func wire(id: UInt16, question: ArraySlice<UInt8>, requestFlags: HeaderFlags, dnssecOK: Bool) -> [UInt8] {
        var wire = DNSHeader(id: id, flags: requestFlags.intersection(.request), questionCount: 1, additionalCount: 1).bytes
        wire.reserveCapacity(DNSHeader.length + question.count + OPTRecord.length)
        wire += question
        wire += ResponseBuilder.opt(dnssecOK: dnssecOK)
        return wire
    }

    /// `. IN NS` with RD: any valid response, even REFUSED, shows the upstream
    /// is alive. The forwarder's health probes and the doctor's send this.
    public static func probe(id: UInt16) -> [UInt8] {
        wire(id: id, question: probeQuestion.wire[...], requestFlags: probeFlags, dnssecOK: false)
    }

    /// The question `probe` asks, to check the reply against.
    public static let probeQuestion = DNSQuestion(name: .root, type: .ns, class: .in)

    static let probeFlags: HeaderFlags = .rd
}
