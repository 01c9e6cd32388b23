/// One resource record as read from a zone file, as Swift values: nothing
/// here points into ldns, so it outlives the parser.
struct ZoneFileRecord: Equatable, Sendable {
    /// Absolute owner name, letter case as written in the file.
    let owner: DNSName
    let type: RecordType
    let `class`: RecordClass
    let ttl: UInt32
    /// RDATA in uncompressed wire form (names inside it spelled out in full).
    let rdata: [UInt8]
}
