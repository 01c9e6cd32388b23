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
    /// ldns 1.8.3 caveats: a second SOA is refused here (see `secondSOALine`);
    /// `$INCLUDE` is an error (not implemented). On a syntax error ldns frees its partial zone
    /// with the shallow `ldns_zone_free`, leaking the records parsed so far
    /// (zone.c, `error:` label). The pointers never reach us, so nothing here
    /// can free them; it happens once per broken file, at load or check time.
    static func records(inFile path: String) throws(ZoneLoadError) -> [ZoneFileRecord] {
        guard let file = fopen(path, "r") else {
            throw ZoneLoadError(file: path, line: nil, message: "cannot open: \(errorText(errno))")
        }
        defer { fclose(file) }
        if let line = secondSOALine(in: file) {
            throw ZoneLoadError(file: path, line: line, message: "a second SOA record: a zone has exactly one")
        }
        rewind(file)
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

    /// The line of the file's second SOA record, if it has one, read with
    /// ldns's own record reader; nil also when the file does not parse (the
    /// zone parser then reports where). Found by fuzzing: ldns 1.8.3's zone
    /// loop frees a second SOA yet keeps it as the previous record, and reads
    /// it again when the next record has no TTL of its own and the same type
    /// (zone.c, ldns_zone_new_frm_fp_l_e): a use after free, a crash under ASan
    /// and at the mercy of the heap otherwise, at start-up or on reload. So no
    /// file with two SOAs reaches that loop.
    private static func secondSOALine(in file: UnsafeMutablePointer<FILE>) -> Int? {
        var ttl = defaultTTL
        var origin: UnsafeMutablePointer<ldns_rdf>?
        var previous: UnsafeMutablePointer<ldns_rdf>?
        var line: Int32 = 0
        var seenSOA = false
        defer {
            if let origin { ldns_rdf_deep_free(origin) }
            if let previous { ldns_rdf_deep_free(previous) }
        }
        while feof(file) == 0 {
            var rr: UnsafeMutablePointer<ldns_rr>?
            let status = ldns_rr_new_frm_fp_l(&rr, file, &ttl, &origin, &previous, &line)
            if status == LDNS_STATUS_SYNTAX_EMPTY || status == LDNS_STATUS_SYNTAX_TTL || status == LDNS_STATUS_SYNTAX_ORIGIN {
                continue
            }
            guard status == LDNS_STATUS_OK, let rr else { return nil }
            defer { ldns_rr_free(rr) }
            guard ldns_rr_get_type(rr) == LDNS_RR_TYPE_SOA else { continue }
            if seenSOA { return errorLine(reported: Int(line), file: file) }
            seenSOA = true
            // As the zone loop does: relative names after the SOA are relative to its owner.
            if origin == nil, let owner = ldns_rr_owner(rr) { origin = ldns_rdf_clone(owner) }
        }
        return nil
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
            type: RecordType(rawValue: UInt16(truncatingIfNeeded: ldns_rr_get_type(rr).rawValue)),
            class: RecordClass(rawValue: UInt16(truncatingIfNeeded: ldns_rr_get_class(rr).rawValue)),
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
