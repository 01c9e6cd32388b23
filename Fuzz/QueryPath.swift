// Fuzz target `query`: any bytes a client may send, through the whole answering
// path of a fresh Forwarder. Built with scripts/fuzz.sh (Sources/DNSForward
// compiled into the same module, so internals are visible).
//
// Per input: classify, then handleQuery over UDP. Drops must produce nothing;
// every reply (daemon-made, local zone, later a cache hit) must carry the
// query's ID, QR, the client's question bytes and fit the client's limit. A
// query that goes upstream is answered by a well-formed upstream reply (one of
// three shapes, picked by the input's length), and the relayed reply, a
// cache hit over UDP and one over TCP are checked the same way; the cache-hit
// fast path (answerFromCache) must decline without counting or give exactly
// handleQuery's UDP reply.

import Logging

private let logger = Logger(label: "fuzz-query")

/// A zone answered locally, so queries under lan. exercise LocalZones too.
private let localZones: LocalZones = {
    let directory = makeTemporaryDirectory()
    writeFile(directory + "/lan.zone", Array("""
        $ORIGIN lan.
        $TTL 3600
        @        IN SOA   router hostmaster 1 3600 600 604800 300
        @        IN NS    router
        router   IN A     192.0.2.1
        router   IN AAAA  2001:db8:1::1
        www      IN CNAME router
        loop1    IN CNAME loop2
        loop2    IN CNAME loop1
        *.dev    IN A     192.0.2.30
        big      IN TXT   "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
        big      IN TXT   "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
        big      IN TXT   "cccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc"

        """.utf8))
    do {
        return try LocalZones.load(directory: directory)
    } catch {
        fatalError("fuzz fixture zone does not load: \(error)")
    }
}()

// 0x20 off: this target checks the upstream query carries exactly the client's question.
private let configuration = ForwarderConfiguration(upstreamNames: ["upstream0"], upstreamPolicy: .ordered).withoutCaseRandomization

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzQueryPath(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let input = Array(UnsafeBufferPointer(start: data, count: size))
    let start = MonotonicInstant.now
    let forwarder = Forwarder<Int>(configuration: configuration, logger: logger, makeID: { 0x4000 })
    forwarder.localZones = localZones

    let verdict = input.withUnsafeBytes { ClientQueryParser.classify($0) }
    var udpLimit = 512
    var question: ArraySlice<UInt8>?
    switch verdict {
    case .answer(let query):
        udpLimit = min(query.maximumReply, configuration.maximumUDPReply)
        question = input[12..<query.questionEnd]
        guard query.questionEnd <= input.count, query.maximumReply >= 512 else {
            fuzzFailure("classify: questionEnd \(query.questionEnd), maximumReply \(query.maximumReply)", input: input)
        }
    case .respond(let bytes, _, let echoed):
        if echoed != nil { question = input[12..<(12 + echoed!.name.wire.count + 4)] }
        checkClientReply(bytes, query: input, limit: 512, question: question, context: "classify respond")
    case .drop:
        break
    }

    let actions = input.withUnsafeBytes { forwarder.handleQuery($0, from: 1, transport: .udp, now: start) }
    if case .drop = verdict, !actions.isEmpty { fuzzFailure("dropped query produced actions", input: input) }
    var sent: (token: UInt64, bytes: [UInt8])?
    for action in actions {
        switch action {
        case .reply(_, let bytes, _):
            checkClientReply(bytes, query: input, limit: udpLimit, question: question, context: "first reply")
        case .sendUpstream(let request):
            sent = (request.token, request.bytes)
        case .closeUpstream, .suspectForgery:
            fuzzFailure("closeUpstream or suspectForgery before anything was sent", input: input)
        }
    }
    fuzzTrace("query: \(verdict), \(actions.count) actions, sent upstream: \(sent != nil)")
    guard let sent, let question else { return 0 }

    // What goes upstream: our ID, no QR, exactly the client's question, our OPT.
    guard case .success(let upstreamQuery) = StrictMessage.parse(sent.bytes), upstreamQuery.id == 0x4000,
          !upstreamQuery.isResponse, sent.bytes[upstreamQuery.questionBytes].elementsEqual(question),
          upstreamQuery.optCount == 1 else {
        fuzzFailure("upstream query malformed", input: input, output: sent.bytes)
    }

    let reply = upstreamAnswer(for: sent.bytes, questionEnd: upstreamQuery.questionBytes.upperBound, shape: input.count % 3)
    let relayed = reply.withUnsafeBytes { forwarder.handleUpstreamReply($0, token: sent.token, now: start + .milliseconds(5)) }
    let relayedReplies = relayed.compactMap { action -> [UInt8]? in
        if case .reply(_, let bytes, _) = action { return bytes }
        return nil
    }
    guard relayedReplies.count == 1 else { fuzzFailure("\(relayedReplies.count) replies to one waiting client", input: input) }
    checkClientReply(relayedReplies[0], query: input, limit: udpLimit, question: question, context: "relayed reply")

    // The daemon's UDP cache hits go through the allocation-free fast path first: it
    // must either decline (nothing counted) or write exactly what handleQuery gives.
    let later = start + .seconds(3)
    let before = forwarder.counters.queries
    let out = UnsafeMutableRawBufferPointer.allocate(byteCount: 4096, alignment: 8)
    defer { out.deallocate() }
    let fast = input.withUnsafeBytes { forwarder.answerFromCache($0, now: later, into: out) }
    if fast == nil, forwarder.counters.queries != before { fuzzFailure("fast path declined but counted", input: input) }

    for (transport, limit) in [(Transport.udp, udpLimit), (.tcp, 65_535)] {
        let again = input.withUnsafeBytes { forwarder.handleQuery($0, from: 2, transport: transport, now: later) }
        for case .reply(_, let bytes, let details) in again {
            checkClientReply(bytes, query: input, limit: limit, question: question, context: "cache hit over \(transport)")
            if transport == .udp, let fast {
                let fastBytes = Array(out[..<fast.length])
                guard fastBytes == bytes, fast.code == details.code else {
                    fuzzFailure("fast path reply differs from handleQuery's", input: input, output: fastBytes)
                }
            }
        }
    }
    fuzzTrace("fast path: \(fast.map { "\($0.length) bytes" } ?? "declined")")
    return 0
}

/// A plausible upstream reply to `query`: a record set, a large TXT set (to
/// make UDP replies truncate), or NXDOMAIN with an SOA.
private func upstreamAnswer(for query: [UInt8], questionEnd: Int, shape: Int) -> [UInt8] {
    let zone = wireName("example.test")
    var records: [UInt8] = []
    var counts = (an: UInt16(0), ns: UInt16(0))
    var rcode: UInt16 = 0
    switch shape {
    case 0:
        records = [0xC0, 12] + word(1) + word(1) + u32(300) + word(4) + [192, 0, 2, 7]
        counts.an = 1
    case 1:
        let txt = [UInt8(250)] + Array(repeating: UInt8(ascii: "t"), count: 250)
        for _ in 0..<6 { records += [0xC0, 12] + word(16) + word(1) + u32(300) + word(UInt16(txt.count)) + txt }
        counts.an = 6
    default:
        let rdata = wireName("ns.example.test") + wireName("hostmaster.example.test") + u32(1) + u32(7200) + u32(900)
            + u32(1_209_600) + u32(300)
        records = zone + word(6) + word(1) + u32(3600) + word(UInt16(rdata.count)) + rdata
        counts.ns = 1
        rcode = 3
    }
    var wire = Array(query[0..<2]) + word(0x8180 | rcode) + word(1) + word(counts.an) + word(counts.ns) + word(1)
    wire += query[12..<questionEnd]
    return wire + records + opt(udpSize: 1232)
}

// The target names clients by number; each is its own quota key.
extension Int: ForwarderClient {
    public var quotaKey: Int { self }
}
