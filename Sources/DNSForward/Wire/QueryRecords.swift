/// What the sections after a query's questions hold, as far as answering it
/// goes: whether they parse to the end of the message, and what they say
/// about EDNS. Read for every query `ClientQueryParser.classify` sees, so
/// that even an error reply knows whether the client spoke EDNS: RFC 6891 7
/// wants an OPT in every reply to a query that had one, FORMERR included.
struct QueryRecords {
    /// The query's OPT, when it had exactly one, well formed.
    private(set) var edns: OPTRecord.Fields?
    /// Whether any OPT-typed record was read, well formed or not.
    private(set) var sawOPT = false
    /// DO of the first OPT-typed record read, for an error reply's OPT.
    private(set) var dnssecOK = false
    /// Every question and record parsed, the last ending the message, with
    /// at most one OPT, root-owned, in the additional section, whose options
    /// are whole (RFC 6891 6.1.1, 6.1.2, 7).
    private(set) var isWellFormed = false

    init(_ reader: WireReader, header: DNSHeader) {
        var offset = DNSHeader.length
        for _ in 0..<header.questionCount {
            guard let nameEnd = reader.skipName(at: offset), nameEnd + 4 <= reader.bytes.count else { return }
            offset = nameEnd + 4
        }
        let additionalStart = Int(header.answerCount) + Int(header.authorityCount)
        let records = additionalStart + Int(header.additionalCount)
        var wellFormed = true
        for index in 0..<records {
            guard let ownerEnd = reader.skipName(at: offset),
                  let type = reader.recordType(at: ownerEnd),
                  let rdataLength = reader.u16(at: ownerEnd + 8) else { return }
            let rdataStart = ownerEnd + 10
            let end = rdataStart + Int(rdataLength)
            guard end <= reader.bytes.count else { return }
            if type == .opt {
                let fields = OPTRecord.fields(reader, at: ownerEnd - 1)
                if !sawOPT { dnssecOK = fields?.dnssecOK ?? false }
                let whole = index >= additionalStart && !sawOPT && ownerEnd == offset + 1
                    && OPTRecord.optionsAreWhole(reader, from: rdataStart, to: end)
                sawOPT = true
                if whole { edns = fields } else { wellFormed = false }
            }
            offset = end
        }
        isWellFormed = wellFormed && offset == reader.bytes.count
        if !isWellFormed { edns = nil }
    }
}
