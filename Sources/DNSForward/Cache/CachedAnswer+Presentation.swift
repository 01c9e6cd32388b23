internal import CLdns
#if canImport(Glibc)
import Glibc
#endif

extension CachedAnswer {
    /// The records in zone-file presentation form, rendered by ldns, with the
    /// TTLs a client would get at `now` (0 once expired). The OPT record is not a
    /// record of the answer and is left out.
    public func presentation(at now: MonotonicInstant) -> [String] {
        let aged = TTLRewrite.aged(age(at: now)).applied(to: wire, at: ttlOffsets)
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

private extension String {
    func trimmingTrailingNewlines() -> String {
        var text = self
        while text.last == "\n" { text.removeLast() }
        return text
    }
}
