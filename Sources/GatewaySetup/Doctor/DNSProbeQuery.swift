import DNSForward

/// The query `doctor` sends to an upstream: the forwarder's own health probe
/// (`. NS`, recursion desired). Any reply with our ID counts, even REFUSED: it
/// proves the path and that something answers DNS there.
public struct DNSProbeQuery: Equatable, Sendable {
    public var id: UInt16

    public var bytes: [UInt8] { UpstreamQuery.probe(id: id) }

    /// A DNS response (QR=1) to this query.
    public func isAnswered(by reply: some Collection<UInt8>) -> Bool {
        guard let header = Array(reply).withUnsafeBytes({ DNSHeader(wire: $0) }) else { return false }
        return header.id == id && header.isResponse
    }
}
