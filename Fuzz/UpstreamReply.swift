// Fuzz target `upstream`: the bytes an upstream (or an off-path spoofer) sends
// back for a query in flight.
//
// Per input: a fresh Forwarder (two upstreams, IDs 0x4000, 0x4001, ...) with
// one pending query, asked by two clients in different letter case, one with
// EDNS and one without. The input's first byte picks the question (even:
// www.example.test A, odd: ". NS", where a one-byte name makes compression
// tricks cheap); the rest is the reply on that query's socket. Invariants:
// - a reply whose ID and question do not match (judged here independently,
//   following compression pointers the way any decoder could) is dropped:
//   no client reply, nothing cached, the query still waiting;
// - whatever reaches a client is that client's ID and exact question bytes,
//   well formed and within its limit (1232 with EDNS 4096, 512 without);
// - a later cache hit, and whatever the timeouts produce, obey the same.

import Logging

private let logger = Logger(label: "fuzz-upstream")
// 0x20 off: replies are built from the client's question, in its case.
private let configuration = ForwarderConfiguration(upstreamNames: ["upstream0", "upstream1"], upstreamPolicy: .ordered)
    .withoutCaseRandomization

private func query(id: UInt16, name: String, type: UInt16, ednsSize: UInt16?) -> [UInt8] {
    word(id) + word(0x0100) + word(1) + word(0) + word(0) + word(ednsSize == nil ? 0 : 1)
        + wireName(name) + word(type) + word(1) + (ednsSize.map { opt(udpSize: $0) } ?? [])
}

private struct Scenario {
    let name: [UInt8]
    let type: UInt16
    /// Client number -> (its query, its reply limit over UDP).
    let clients: [Int: (query: [UInt8], limit: Int)]

    init(_ spellings: [String], type: UInt16) {
        name = foldCase(wireName(spellings[0]))
        self.type = type
        clients = [
            1: (query(id: 0x1234, name: spellings[0], type: type, ednsSize: 4096), 1232),
            2: (query(id: 0x5678, name: spellings[1], type: type, ednsSize: nil), 512),
            3: (query(id: 0x9ABC, name: spellings[2], type: type, ednsSize: 1232), 1232),
        ]
    }
}

private let scenarios = [
    Scenario(["WwW.Example.test", "www.EXAMPLE.TEST", "WWW.EXAMPLE.TEST"], type: 1),
    Scenario([".", ".", "."], type: 2),
]

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzUpstreamReply(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    guard size >= 1 else { return 0 }
    let scenario = scenarios[Int(data[0] & 1)]
    let clients = scenario.clients
    let input = Array(UnsafeBufferPointer(start: data + 1, count: size - 1))
    let start = MonotonicInstant.now
    var nextID: UInt16 = 0x4000
    let forwarder = Forwarder<Int>(configuration: configuration, logger: logger,
                                   makeID: { defer { nextID &+= 1 }; return nextID })

    func check(_ actions: [ForwarderAction<Int>], _ context: String) {
        for case .reply(let client, let bytes, _) in actions {
            guard let (query, limit) = clients[client] else { fuzzFailure("\(context): reply to unknown client") }
            checkClientReply(bytes, query: query, limit: limit, question: query[12..<(query.count - (limit == 512 ? 0 : 11))],
                             context: "\(context), client \(client)")
        }
    }

    let first = clients[1]!.query.withUnsafeBytes { forwarder.handleQuery($0, from: 1, now: start) }
    guard case .sendUpstream(let request)? = first.first else { fuzzFailure("pending query was not sent") }
    let token = request.token
    let second = clients[2]!.query.withUnsafeBytes { forwarder.handleQuery($0, from: 2, now: start) }
    guard second.isEmpty else { fuzzFailure("second client was not coalesced") }

    let rejectedBefore = forwarder.counters.rejectedReplies
    let actions = input.withUnsafeBytes { forwarder.handleUpstreamReply($0, token: token, now: start + .milliseconds(10)) }
    let matches = replyMatches(input, id: 0x4000, name: scenario.name, type: scenario.type)
    let replied = actions.contains { if case .reply = $0 { true } else { false } }
    if !matches {
        guard actions.isEmpty, forwarder.cache.count == 0, forwarder.inFlightCount == 1,
              forwarder.counters.rejectedReplies == rejectedBefore + 1 else {
            fuzzFailure("a reply with the wrong ID or question was not simply dropped (replied: \(replied), cached: \(forwarder.cache.count))",
                        input: input)
        }
    }
    fuzzTrace("upstream: matches \(matches), replied \(replied), cached \(forwarder.cache.count)")
    check(actions, "relayed")
    if forwarder.cache.count > 0, !matches { fuzzFailure("cached a reply that does not match", input: input) }

    let hit = clients[3]!.query.withUnsafeBytes { forwarder.handleQuery($0, from: 3, now: start + .seconds(1)) }
    check(hit, "cache hit")
    for seconds in [3, 6, 9] { check(forwarder.expire(now: start + .seconds(Int64(seconds))), "expire at \(seconds)s") }
    return 0
}

/// Whether `wire` is a response with our ID to the question `name type IN`,
/// read the way a lenient decoder would (pointers followed in any direction
/// within the message, at most 64 of them).
private func replyMatches(_ wire: [UInt8], id: UInt16, name expectedName: [UInt8], type: UInt16) -> Bool {
    guard wire.count >= 12, wire[2] & 0x80 != 0, wire[2] & 0x78 == 0,
          UInt16(wire[0]) << 8 | UInt16(wire[1]) == id, wire[4] == 0, wire[5] == 1 else { return false }
    var name: [UInt8] = []
    var offset = 12
    var end: Int?
    var hops = 0
    while true {
        guard offset < wire.count else { return false }
        let length = Int(wire[offset])
        if length & 0xC0 == 0xC0 {
            guard offset + 1 < wire.count, hops < 64 else { return false }
            hops += 1
            if end == nil { end = offset + 2 }
            offset = (length & 0x3F) << 8 | Int(wire[offset + 1])
            continue
        }
        guard length & 0xC0 == 0, offset + 1 + length <= wire.count else { return false }
        name.append(UInt8(length))
        name += wire[(offset + 1)..<(offset + 1 + length)]
        if length == 0 { break }
        offset += 1 + length
    }
    let typeOffset = end ?? (offset + 1)
    guard typeOffset + 4 <= wire.count else { return false }
    return foldCase(name) == expectedName && wire[typeOffset..<(typeOffset + 4)].elementsEqual(word(type) + [0, 1])
}

// The target names clients by number; each is its own quota key.
extension Int: ForwarderClient {
    public var quotaKey: Int { self }
}
