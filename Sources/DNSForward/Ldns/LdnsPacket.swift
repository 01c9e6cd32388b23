internal import CLdns
#if canImport(Glibc)
import Glibc
#endif

/// Owns one `ldns_pkt`: created by parsing, freed exactly once in
/// `deinit`. No ldns pointer leaves this type except inside `withPacket`.
final class LdnsPacket {
    private let packet: UnsafeMutablePointer<ldns_pkt>

    /// Parses wire bytes; throws with ldns's reason when they are not a DNS message.
    init(wire: UnsafeRawBufferPointer) throws(LdnsError) {
        guard let base = wire.baseAddress else { throw LdnsError(operation: "ldns_wire2pkt", message: "empty packet") }
        var parsed: UnsafeMutablePointer<ldns_pkt>?
        let status = ldns_wire2pkt(&parsed, base.assumingMemoryBound(to: UInt8.self), wire.count)
        guard status == LDNS_STATUS_OK, let parsed else {
            if let parsed { ldns_pkt_free(parsed) }
            throw LdnsError(operation: "ldns_wire2pkt", status: status)
        }
        packet = parsed
    }

    deinit { ldns_pkt_free(packet) }

    func withPacket<R>(_ body: (UnsafeMutablePointer<ldns_pkt>) throws -> R) rethrows -> R {
        try body(packet)
    }

    var hasEDNS: Bool { ldns_pkt_edns(packet) }
    var ednsUDPSize: UInt16 { ldns_pkt_edns_udp_size(packet) }
    var ednsDO: Bool { ldns_pkt_edns_do(packet) }
    var ednsVersion: UInt8 { ldns_pkt_edns_version(packet) }
}
