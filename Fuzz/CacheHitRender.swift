// Fuzz target `render`: the cache-hit patcher. A fuzzed cached answer and a
// fuzzed client query through ReplyRenderer.render and .personalize, the
// byte patching that runs on every hit without a parse.
//
// Input: [options][query length L][L bytes: the client's query][answer].
//   options bit 0: the client came over TCP; bit 1: a fixed (stale) TTL;
//   bits 2-7: seconds the entry has been in the cache.
// The client query must classify as .answer. The cached answer is what the
// cache can hold for it: the answer bytes' 12-byte header (QR set, one
// question), the query's question in lower case, then the rest of the answer
// bytes as records; it must pass UpstreamReplyValidator (so MessageLayout),
// and its TTLs are clamped the way Forwarder.store does.
// Invariants: every output is well formed, has the client's ID, QR and exact
// question, fits the client's limit; untruncated, it has the answer's records
// (OPT exactly when the client sent one, with its DO bit) with TTLs aged by exactly the age.

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzCacheHitRender(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let input = Array(UnsafeBufferPointer(start: data, count: size))
    guard input.count >= 2 else { return 0 }
    let options = input[0]
    let queryLength = Int(input[1])
    guard input.count >= 2 + queryLength + 12 else { return 0 }
    let queryWire = Array(input[2..<(2 + queryLength)])
    let rest = input[(2 + queryLength)...]

    guard case .answer(var query) = queryWire.withUnsafeBytes({ ClientQueryParser.classify($0) }) else { return 0 }
    query = options & 1 != 0 ? query.overTCP() : { var q = query; q.maximumReply = min(q.maximumReply, 1232); return q }()
    let question = queryWire[12..<query.questionEnd]

    var answerWire = Array(rest.prefix(12))
    answerWire[2] |= 0x80
    answerWire[4] = 0
    answerWire[5] = 1
    answerWire += query.question.name.wire.map(DNSName.foldCase)
    answerWire += word(query.question.type.rawValue) + word(query.question.class.rawValue)
    answerWire += rest.dropFirst(12)
    let id = UInt16(answerWire[0]) << 8 | UInt16(answerWire[1])
    guard case .accept(let layout) = answerWire.withUnsafeBytes({
        UpstreamReplyValidator.validate($0, expectedID: id, question: query.question)
    }) else { return 0 }
    guard let header = answerWire.withUnsafeBytes({ DNSHeader(wire: $0) }) else { fuzzFailure("accepted without a header") }

    fuzzTrace("render: answer accepted, \(layout.ttlOffsets.count) TTLs, OPT \(layout.optRange != nil)")
    // The uncached path: a reply relayed straight from upstream.
    let relayed = ReplyRenderer.personalize(answerWire, optRange: layout.optRange, recordsAfterOPT: layout.recordsAfterOPT,
                                            for: query)
    checkClientReply(relayed, query: queryWire, limit: query.maximumReply, question: question, context: "personalize")
    checkRecords(relayed, stored: answerWire, query: query, queryWire: queryWire, expectedTTL: { $0 })

    guard case .store(let kind, let lifetime) = CachePolicy.decide(header: header, layout: layout,
                                                                 configuration: CacheConfiguration()) else { return 0 }
    var stored = answerWire
    stored.withUnsafeMutableBytes { bytes in
        for offset in layout.ttlOffsets.lazy.map(Int.init) {
            let ttl = UInt32(bigEndian: bytes.loadUnaligned(fromByteOffset: offset, as: UInt32.self))
            let clamped = min(lifetime, ttl & 0x8000_0000 != 0 ? 0 : ttl)
            bytes.storeBytes(of: clamped.bigEndian, toByteOffset: offset, as: UInt32.self)
        }
    }
    let start = MonotonicInstant.now
    let answer = CachedAnswer(wire: stored, layout: layout, kind: kind, storedAt: start, lifetime: lifetime, upstream: 0)
    let age = UInt32(options >> 2)
    let fixedTTL: UInt32? = options & 2 != 0 ? 30 : nil
    fuzzTrace("render: cached as \(kind) for \(lifetime) s")
    let rendered = ReplyRenderer.render(answer, for: query, now: start + .seconds(Int64(age)), fixedTTL: fixedTTL)
    checkClientReply(rendered, query: queryWire, limit: query.maximumReply, question: question, context: "render")
    checkRecords(rendered, stored: stored, query: query, queryWire: queryWire,
                 expectedTTL: { fixedTTL ?? ($0 > age ? $0 - age : 0) })
    // The cache holds answers as compact entries; rendered from one, the reply must not differ.
    guard let entry = CacheEntry.make(key: query.key, hash: CacheEntry.hash(query.key), answer: answer) else {
        fuzzFailure("a validated answer did not fit a cache entry")
    }
    let fromEntry = ReplyRenderer.render(entry, for: query, now: start + .seconds(Int64(age)), fixedTTL: fixedTTL)
    if fromEntry != rendered { fuzzFailure("render: the cache entry's copy differs", input: queryWire, output: fromEntry) }
    return 0
}

/// An untruncated output holds the stored records in order, OPT only for an
/// EDNS client, each TTL as `expectedTTL` maps the stored one.
private func checkRecords(_ output: [UInt8], stored: [UInt8], query: ClientQuery, queryWire: [UInt8],
                          expectedTTL: (UInt32) -> UInt32) {
    guard case .success(let out) = StrictMessage.parse(output), case .success(let original) = StrictMessage.parse(stored) else {
        // Stored answers may use pointers the strict reader refuses; they
        // passed MessageLayout, so a failure here is only reported by
        // checkClientReply on the output.
        return
    }
    // A client without EDNS gets the additional records before the OPT only (see ReplyRenderer.write).
    let additional = query.hasEDNS ? original.additional.filter { $0.type != 41 }
        : Array(original.additional.prefix { $0.type != 41 })
    let storedRecords = original.answers + original.authority + additional
    let outRecords = out.answers + out.authority + out.additional.filter { $0.type != 41 }
    if out.isTruncated, outRecords.isEmpty { return }  // cut to fit: header, question, OPT
    guard storedRecords.count == outRecords.count else {
        fuzzFailure("\(outRecords.count) records out of \(storedRecords.count) stored", input: queryWire, output: output)
    }
    for (a, b) in zip(storedRecords, outRecords) {
        guard a.type == b.type, a.class == b.class, stored[a.rdata] == output[b.rdata], b.ttl == expectedTTL(a.ttl) else {
            fuzzFailure("record changed: type \(a.type) ttl \(a.ttl) -> type \(b.type) ttl \(b.ttl)", input: queryWire, output: output)
        }
    }
    // RFC 6891 7: OPT exactly when the client sent one (added if the upstream
    // had none), with the client's DO bit (RFC 3225 3).
    guard out.optCount == (query.hasEDNS ? 1 : 0) else {
        fuzzFailure("OPT count \(out.optCount), client EDNS \(query.hasEDNS)", input: queryWire, output: output)
    }
    if let opt = out.additional.first(where: { $0.type == 41 }), (opt.ttl & 0x8000 != 0) != query.dnssecOK {
        fuzzFailure("OPT DO bit is not the client's", input: queryWire, output: output)
    }
}
