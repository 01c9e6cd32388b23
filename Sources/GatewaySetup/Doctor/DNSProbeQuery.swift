/// The query `doctor` sends to an upstream: `. NS`, recursion desired. Any reply with our
/// ID counts, even REFUSED: it proves the path and that something answers DNS there.
public struct DNSProbeQuery: Equatable, Sendable {
    public var id: UInt16

    public var bytes: [UInt8] {
        [UInt8(id >> 8), UInt8(id & 0xFF), 0x01, 0x00, // RD
         0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, // QDCOUNT 1
         0x00, // the root name
         0x00, 0x02, 0x00, 0x01] // NS, IN
    }

    /// A DNS response (QR=1) to this query.
    public func isAnswered(by reply: some Collection<UInt8>) -> Bool {
        let reply = Array(reply.prefix(12))
        return reply.count == 12 && reply[0] == UInt8(id >> 8) && reply[1] == UInt8(id & 0xFF) && reply[2] & 0x80 != 0
    }
}
