/// Builds what we send upstream: the client's question with RD/AD/CD as it set
/// them, a fresh ID, and our own OPT (our buffer size, the client's DO), so
/// every cached answer is an EDNS answer that any later client can be served from.
public enum UpstreamQuery {
    /// One allocation: header, the question (`name` in the case it goes out
    /// in), our OPT.
    static func wire(id: UInt16, name: [UInt8], type: RecordType, class qclass: RecordClass, requestFlags: HeaderFlags,
                     dnssecOK: Bool) -> [UInt8] {
        var wire: [UInt8] = []
        wire.reserveCapacity(DNSHeader.length + name.count + 4 + OPTRecord.length)
        DNSHeader(id: id, flags: requestFlags.intersection(.request), questionCount: 1, additionalCount: 1).append(to: &wire)
        wire += name
        wire.append(UInt8(type.rawValue >> 8))
        wire.append(UInt8(truncatingIfNeeded: type.rawValue))
        wire.append(UInt8(qclass.rawValue >> 8))
        wire.append(UInt8(truncatingIfNeeded: qclass.rawValue))
        wire += dnssecOK ? optWithDO : optWithoutDO
        return wire
    }

    private static let optWithDO = ResponseBuilder.opt(dnssecOK: true)
    private static let optWithoutDO = ResponseBuilder.opt(dnssecOK: false)

    /// `. IN NS` with RD: any valid response, even REFUSED, shows the upstream
    /// is alive. The forwarder's health probes and the doctor's send this.
    public static func probe(id: UInt16) -> [UInt8] {
        wire(id: id, name: probeQuestion.name.wire, type: probeQuestion.type, class: probeQuestion.class,
             requestFlags: probeFlags, dnssecOK: false)
    }

    /// The question `probe` asks, to check the reply against.
    public static let probeQuestion = DNSQuestion(name: .root, type: .ns, class: .in)

    static let probeFlags: HeaderFlags = .rd
}
