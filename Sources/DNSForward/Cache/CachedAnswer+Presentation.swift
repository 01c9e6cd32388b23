internal import CLdns
#if canImport(Glibc)
import Glibc
#endif

extension CachedAnswer {
    /// The records in zone-file presentation form, rendered by ldns, with the
    /// TTLs a client would get at `now` (0 once expired). The OPT record is not a
    /// record of the answer and is left out.
    public func presentation(at now: ContinuousClock.Instant) -> [String] {
        var aged = wire
        let age = self.age(at: now)
        aged.withUnsafeMutableBytes { bytes in
            for offset in ttlOffsets.lazy.map(Int.init) {
                let ttl = UInt32(bigEndian: bytes.loadUnaligned(fromByteOffset: offset, as: UInt32.self))
                bytes.storeBytes(of: (ttl > age ? ttl - age : 0).bigEndian, toByteOffset: offset, as: UInt32.self)
            }
        }
        return aged.withUnsafeBytes { bytes -> [String] in
            guard let packet = try? LdnsPacket(wire: bytes) else { return [] }
            return packet.withPacket { pkt in
                var lines: [String] = []
                for list in [ldns_pkt_answer(pkt), ldns_pkt_authority(pkt), ldns_pkt_additional(pkt)] {
                    guard let list else { continue }
                    for index in 0..<ldns_rr_list_rr_count(list) {
                        guard let rr = ldns_rr_list_rr(list, index), let text = ldns_rr2str(rr) else { continue }
                        defer { free(text) }
                        lines.append(String(cString: text).trimmingTrailingNewlines())
                    }
                }
                return lines
            }
        }
    }
}

extension DNSName {
    /// Parses presentation text ("www.example.test", escapes allowed) with ldns;
    /// nil when it is not a valid name. A missing final dot is implied.
    public init?(presentation text: String) {
        guard let rdf = ldns_dname_new_frm_str(text) else { return nil }
        defer { ldns_rdf_deep_free(rdf) }
        guard let data = ldns_rdf_data(rdf) else { return nil }
        self.init(wire: Array(UnsafeBufferPointer(start: data, count: ldns_rdf_size(rdf))))
    }

    /// Lowercased wire form, as cache keys hold names.
    public var lowercasedWire: [UInt8] { wire.map(DNSName.foldCase) }
}

extension DNSRecordType {
    /// A type mnemonic ("AAAA", "TYPE65") as ldns knows it; nil if unknown.
    public static func number(_ mnemonic: String) -> UInt16? {
        let type = ldns_get_rr_type_by_name(mnemonic.uppercased())
        let value = UInt16(truncatingIfNeeded: type.rawValue)
        return value == 0 ? nil : value
    }

    /// The mnemonic ldns prints for `type`.
    public static func ldnsMnemonic(_ type: UInt16) -> String {
        guard let text = ldns_rr_type2str(ldns_rr_type(rawValue: UInt32(type))) else { return mnemonic(type) }
        defer { free(text) }
        return String(cString: text)
    }
}

private extension String {
    func trimmingTrailingNewlines() -> String {
        var text = self
        while text.last == "\n" { text.removeLast() }
        return text
    }
}
