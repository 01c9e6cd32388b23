/// The records of one name and type in a local zone (class IN), in wire form.
struct LocalRRset: Sendable {
    /// Owner as written in the zone file (lookups use the lowercased key).
    let owner: DNSName
    let type: RecordType
    /// One TTL for the set: the smallest the file gave, as RFC 2181 5.2 says
    /// to treat an RRset whose TTLs differ.
    let ttl: UInt32
    /// Each record's RDATA, uncompressed, duplicates removed (RFC 2181 5).
    let rdatas: [[UInt8]]
}
