/// One authoritative zone as Swift values: RRsets keyed by lowercased owner
/// name, plus the empty non-terminals between them and the apex. Built once
/// from a zone file's records; lookups never touch ldns.
///
/// Delegations are not modelled: an NS RRset below the apex is plain data,
/// answered for NS queries at that name, never turned into a referral. A LAN
/// zone has no children to delegate to, and a forwarder's clients expect
/// answers, not referrals.
struct LocalZone: Sendable {
    /// What a name resolves to inside this zone, before CNAME chasing.
    enum Match {
        case records([LocalRRset])
        /// A CNAME at the name (or at the wildcard that matched it) and the query was not for it.
        case alias(LocalRRset, target: DNSName)
        /// The name exists but has no data of the type (RFC 2308 2.2).
        case noData
        /// The name does not exist and no wildcard covers it (RFC 2308 2.1).
        case nameError
    }

    /// The apex as written in the file (SOA owner); lookups use `apex`.
    let origin: DNSName
    let apex: DNSName
    let file: String
    let soa: LocalRRset
    /// TTL of the SOA in negative answers: min(SOA TTL, SOA MINIMUM), RFC 2308 3.
    let negativeTTL: UInt32
    let recordCount: Int
    /// An empty dictionary is an empty non-terminal: a name that exists only
    /// because names below it do, which blocks wildcards (RFC 4592 2.2.2).
    private let nodes: [DNSName: [RecordType: LocalRRset]]

    init(records: [ZoneFileRecord], file: String) throws(ZoneLoadError) {
        func failure(_ message: String) -> ZoneLoadError { ZoneLoadError(file: file, line: nil, message: message) }

        guard let soaRecord = records.first(where: { $0.type == .soa }) else {
            throw failure("no SOA record: the SOA owner is the zone's apex, and its MINIMUM the negative TTL")
        }
        let apex = soaRecord.owner.lowercased
        guard !apex.isRoot else {
            throw failure("the SOA is at the root (.): set $ORIGIN or write the SOA owner in full; a local root zone would answer every name")
        }
        // RNAME and MNAME are at least one octet each, then five 32-bit fields.
        guard soaRecord.rdata.count >= 22 else { throw failure("SOA RDATA too short") }

        var nodes = try Self.rrsets(of: records, apex: apex, origin: soaRecord.owner, file: file)
        let recordCount = nodes.values.reduce(0) { total, sets in sets.values.reduce(total) { $0 + $1.rdatas.count } }
        // Every name between an owner and the apex exists (RFC 4592 2.2.2).
        for key in Array(nodes.keys) {
            var ancestor = key.parent
            while let name = ancestor, name.isEqualOrBelow(apex), nodes[name] == nil {
                nodes[name] = [:]
                ancestor = name.parent
            }
        }

        guard let soa = nodes[apex]?[.soa] else { throw failure("SOA missing after grouping") }
        let minimum = soa.rdatas[0].suffix(4).reduce(UInt32(0)) { $0 << 8 | UInt32($1) }
        self.origin = soaRecord.owner
        self.apex = apex
        self.file = file
        self.soa = soa
        self.negativeTTL = min(soa.ttl, minimum)
        self.recordCount = recordCount
        self.nodes = nodes
    }

    /// The records as RRsets by lowercased owner and type: one TTL per set
    /// (the smallest), duplicates dropped (RFC 2181 5). Every record must be
    /// IN and at or below `apex`; a CNAME stands alone at its name.
    private static func rrsets(of records: [ZoneFileRecord], apex: DNSName, origin: DNSName,
                               file: String) throws(ZoneLoadError) -> [DNSName: [RecordType: LocalRRset]] {
        func failure(_ message: String) -> ZoneLoadError { ZoneLoadError(file: file, line: nil, message: message) }
        var grouped: [DNSName: [RecordType: (owner: DNSName, ttl: UInt32, rdatas: [[UInt8]])]] = [:]
        for record in records {
            let described = "\(record.owner) \(record.type.mnemonic)"
            guard record.class == .in else {
                throw failure("\(described): class \(record.class.rawValue) is not IN; only IN is served")
            }
            let key = record.owner.lowercased
            guard key.isEqualOrBelow(apex) else {
                throw failure("\(described) is outside the zone \(origin) (before $ORIGIN and the SOA, relative names are relative to the root)")
            }
            guard record.rdata.count <= Int(UInt16.max) else { throw failure("\(described): RDATA over 65535 octets") }
            var set = grouped[key, default: [:]][record.type] ?? (record.owner, record.ttl, [])
            set.ttl = min(set.ttl, record.ttl)
            if !set.rdatas.contains(record.rdata) { set.rdatas.append(record.rdata) }
            grouped[key, default: [:]][record.type] = set
        }
        var nodes: [DNSName: [RecordType: LocalRRset]] = [:]
        for (key, sets) in grouped {
            if let cname = sets[.cname] {
                let described = "\(cname.owner) CNAME"
                guard cname.rdatas.count == 1 else { throw failure("\(described): more than one CNAME at a name") }
                // RFC 1034 3.6.2; RFC 4035 2.5 allows RRSIG and NSEC beside it.
                let others = sets.keys.filter { ![.cname, .rrsig, .nsec].contains($0) }.sorted()
                guard others.isEmpty else {
                    throw failure("\(described) and other data (\(others.map(\.mnemonic).joined(separator: ", "))) at the same name, RFC 1034 3.6.2")
                }
            }
            nodes[key] = Dictionary(uniqueKeysWithValues: sets.map { type, set in
                (type, LocalRRset(owner: set.owner, type: type, ttl: set.ttl, rdatas: set.rdatas))
            })
        }
        return nodes
    }

    /// Looks up a lowercased name at or below the apex (RFC 1034 4.3.2 step
    /// 3, without referrals; wildcards per RFC 4592 3.3.1).
    func match(_ name: DNSName, type: RecordType) -> Match {
        if let node = nodes[name] { return select(node, type: type) }
        // Closest encloser: the nearest existing ancestor. The apex always
        // exists, so the walk ends there at the latest.
        var ancestor = name.parent
        while let candidate = ancestor, nodes[candidate] == nil {
            ancestor = candidate.parent
        }
        // Only `*.<closest encloser>` can synthesize; a wildcard higher up is
        // blocked by the existing name in between.
        guard let closest = ancestor, let source = nodes[closest.wildcardChild] else { return .nameError }
        return select(source, type: type)
    }

    private func select(_ node: [RecordType: LocalRRset], type: RecordType) -> Match {
        if node.isEmpty { return .noData }
        if type == .any { return .records(node.values.sorted { $0.type < $1.type }) }
        if let set = node[type] { return .records([set]) }
        if let cname = node[.cname] { return .alias(cname, target: DNSName(wire: cname.rdatas[0])) }
        return .noData
    }
}
