/// Whether a record's RDATA has the shape its type requires, for the types a
/// forwarder's clients read most: fixed-size addresses, and the types whose
/// RDATA holds domain names (compressible, RFC 3597 section 4), which must end
/// inside the RDATA. What ldns checked when every upstream reply went through
/// a full parse, read straight from the wire; other types are opaque here, as
/// they are to a forwarder.
enum RecordDataShape {
    static func isWellFormed(_ type: RecordType, in reader: WireReader, rdata: Range<Int>) -> Bool {
        switch type {
        case .a: return rdata.count == 4
        case .aaaa: return rdata.count == 16
        case .ns, .cname, .ptr, .dname: return names(1, in: reader, from: rdata.lowerBound) == rdata.upperBound
        case .mx: return names(1, in: reader, from: rdata.lowerBound + 2) == rdata.upperBound
        case .srv: return names(1, in: reader, from: rdata.lowerBound + 6) == rdata.upperBound
        // MNAME, RNAME, then SERIAL REFRESH RETRY EXPIRE MINIMUM.
        case .soa: return names(2, in: reader, from: rdata.lowerBound).map { $0 + 20 } == rdata.upperBound
        default: return true
        }
    }

    /// The end of `count` consecutive names starting at `offset`.
    private static func names(_ count: Int, in reader: WireReader, from offset: Int) -> Int? {
        var end = offset
        for _ in 0..<count {
            guard let next = reader.skipName(at: end) else { return nil }
            end = next
        }
        return end
    }
}
