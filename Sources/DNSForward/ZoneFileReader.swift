internal import CLdns
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The only place a zone file meets ldns: parses one file with ldns's zone
/// parser and copies every record out as a `ZoneFileRecord`, so no ldns
/// pointer outlives the call.
///
/// Origin rule (what ldns does, relied on here): names are made absolute with
/// the latest `$ORIGIN`; before any `$ORIGIN` the SOA owner serves, once the
/// SOA has been read; a relative name before both is taken relative to the
/// root. The zone's apex is the SOA owner (`LocalZone` checks that every
/// record lies under it, which catches the root-relative accident).
enum ZoneFileReader {
    /// TTL of records before any `$TTL` or explicit TTL. RFC 1035 5.1 leaves
    /// it to the implementation; an hour is what LAN zones usually want.
    static let defaultTTL: UInt32 = 3600

    /// The file's records, the SOA first when there is one.
    ///
    /// ldns 1.8.3 caveats: a second SOA is dropped silently; `$INCLUDE` is an
    /// error (not implemented). On a syntax error ldns frees its partial zone
    /// with the shallow `ldns_zone_free`, leaking the records parsed so far
    /// (zone.c, `error:` label). The pointers never reach us, so nothing here
    /// can free them; it happens once per broken file, at load or check time.
    static func records(inFile path: String) throws(ZoneLoadError) -> [ZoneFileRecord] {
        guard let file = fopen(path, "r") else {
            throw ZoneLoadError(file: path, line: nil, message: "cannot open: \(errorText(errno))")
        }
        defer { fclose(file) }
        var parsed: UnsafeMutablePointer<ldns_zone>?
        var line: Int32 = 0
        // ldns ignores the class argument; records keep the class they were written with.
        let status = ldns_zone_new_frm_fp_l(&parsed, file, nil, defaultTTL, LDNS_RR_CLASS_IN, &line)
        guard status == LDNS_STATUS_OK, let zone = parsed else {
            // ldns sets the zone only on success; free it anyway if a future version differs.
            if let parsed { ldns_zone_deep_free(parsed) }
            let text = ldns_get_errorstr_by_id(status).map { String(cString: $0) } ?? "ldns status \(status.rawValue)"
            throw ZoneLoadError(file: path, line: errorLine(reported: Int(line), file: file), message: text)
        }
        // Deep: the SOA and every record in the list belong to the zone.
        defer { ldns_zone_deep_free(zone) }
        var records: [ZoneFileRecord] = []
        if let soa = ldns_zone_soa(zone) {
            records.append(record(soa))
        }
        if let list = ldns_zone_rrs(zone) {
            let count = ldns_rr_list_rr_count(list)
            records.reserveCapacity(count + 1)
            for index in 0..<count {
                if let rr = ldns_rr_list_rr(list, index) { records.append(record(rr)) }
            }
        }
        return records
    }

    private static func record(_ rr: UnsafeMutablePointer<ldns_rr>) -> ZoneFileRecord {
        // The rdfs' bytes in order are exactly what ldns_rr_rdata2buffer_wire
        // writes (host2wire.c): wire form, names uncompressed.
        var rdata: [UInt8] = []
        for index in 0..<ldns_rr_rd_count(rr) {
            if let rdf = ldns_rr_rdf(rr, index) { rdata += bytes(of: rdf) }
        }
        return ZoneFileRecord(
            owner: DNSName(wire: ldns_rr_owner(rr).map(bytes(of:)) ?? [0]),
            type: UInt16(truncatingIfNeeded: ldns_rr_get_type(rr).rawValue),
            class: UInt16(truncatingIfNeeded: ldns_rr_get_class(rr).rawValue),
            ttl: ldns_rr_ttl(rr),
            rdata: rdata
        )
    }

    private static func bytes(of rdf: UnsafeMutablePointer<ldns_rdf>) -> [UInt8] {
        guard let data = ldns_rdf_data(rdf) else { return [] }
        return Array(UnsafeBufferPointer(start: data, count: ldns_rdf_size(rdf)))
    }

    /// ldns counts the newlines it has consumed, so an error in a last line
    /// with no newline after it comes out one short (seen with 1.8.3).
    private static func errorLine(reported: Int, file: UnsafeMutablePointer<FILE>) -> Int {
        guard feof(file) != 0, fseek(file, -1, SEEK_END) == 0 else { return max(reported, 1) }
        return fgetc(file) == Int32(UInt8(ascii: "\n")) ? max(reported, 1) : reported + 1
    }

    static func errorText(_ code: Int32) -> String {
        strerror(code).map { String(cString: $0) } ?? "errno \(code)"
    }
}
