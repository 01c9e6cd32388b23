/// EDNS(0) Padding (RFC 7830) for queries sent over an encrypted transport,
/// by the Block-Length policy of RFC 8467 4.1: queries padded to a multiple
/// of 128 octets, so their lengths say little about the names asked.
public enum EDNSPadding {
    public static let optionCode: UInt16 = 12
    public static let queryBlockLength = 128

    /// `query` with a Padding option added to its OPT record, its length a
    /// multiple of `blockLength`. Only a query whose last record is an OPT with
    /// empty RDATA (what `UpstreamQuery` builds) is padded; any other comes
    /// back unchanged.
    public static func padded(_ query: [UInt8], blockLength: Int = queryBlockLength) -> [UInt8] {
        let optStart = query.count - OPTRecord.length
        guard optStart >= DNSHeader.length, blockLength > 0,
              query[optStart] == 0, query[optStart + 1] == 0, query[optStart + 2] == 41,
              query[query.count - 2] == 0, query[query.count - 1] == 0 else { return query }
        let optionHeader = 4
        let paddingLength = (blockLength - (query.count + optionHeader) % blockLength) % blockLength
        let rdataLength = optionHeader + paddingLength
        var out = query
        out.reserveCapacity(query.count + rdataLength)
        out[out.count - 2] = UInt8(rdataLength >> 8)
        out[out.count - 1] = UInt8(truncatingIfNeeded: rdataLength)
        out += [UInt8(optionCode >> 8), UInt8(truncatingIfNeeded: optionCode),
                UInt8(paddingLength >> 8), UInt8(truncatingIfNeeded: paddingLength)]
        out += repeatElement(0, count: paddingLength)
        return out
    }
}
