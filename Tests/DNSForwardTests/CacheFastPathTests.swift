import Testing
@testable import DNSForward

/// `Forwarder.answerFromCache` checked against `handleQuery`, the path it
/// short-cuts: same bytes for every fresh UDP hit, nil and nothing counted
/// for everything else.
@Suite("Forwarder: allocation-free cache-hit path")
struct CacheFastPathTests {
    typealias H = ForwarderHarness
    typealias W = WireFixtures

    /// What the fast path may change; compared whole, so any stray count fails.
    struct Tally: Equatable {
        let queries, fromCache, hits, misses, expired, dropped, entries: Int

        init(_ lab: H) {
            let forwarder = lab.forwarder
            queries = forwarder.counters.queries
            fromCache = forwarder.counters.answeredFromCache
            hits = forwarder.cache.counters.hits
            misses = forwarder.cache.counters.misses
            expired = forwarder.cache.counters.expired
            dropped = forwarder.counters.dropped
            entries = forwarder.cache.count
        }
    }

    static func query(id: UInt16 = 0x1234, _ name: String, type: UInt16 = 1, flags: UInt16 = 0x0100,
                      edns: UInt16? = nil, dnssecOK: Bool = false) -> [UInt8] {
        var wire = W.query(id: id, name: name, type: type, flags: flags)
        guard let edns else { return wire }
        wire[11] = 1
        return wire + W.opt(udpSize: edns, dnssecOK: dnssecOK)
    }

    static func record(_ owner: [UInt8], type: UInt16, ttl: UInt32, _ rdata: [UInt8]) -> [UInt8] {
        owner + W.word(type) + W.word(1) + W.u32(ttl) + W.word(UInt16(rdata.count)) + rdata
    }

    static func mixedCase(_ name: String) -> String {
        String(name.enumerated().map { $0.offset % 2 == 0 ? Character($0.element.uppercased()) : $0.element })
    }

    /// Upstream replies cached under every DO/CD combination by `fill`.
    static let cached: [(name: String, reply: [UInt8])] = {
        // Two A records, and an upstream OPT (4096, DO set whatever was asked).
        var two = W.response(id: 0, name: "two.test", answers: [[192, 0, 2, 1], [192, 0, 2, 2]], ttl: 300)
        two[11] = 1
        two += W.opt(udpSize: 4096, dnssecOK: true)
        let chain = W.word(0) + W.word(0x8180) + W.word(1) + W.word(3) + W.word(0) + W.word(0)
            + W.name("www.chain.test") + W.word(1) + W.word(1)
            + record([0xC0, 12], type: 5, ttl: 600, W.name("web.chain.test"))
            + record(W.name("web.chain.test"), type: 5, ttl: 300, W.name("cdn.chain.test"))
            + record(W.name("cdn.chain.test"), type: 1, ttl: 120, [203, 0, 113, 9])
        return [
            ("two.test", two),
            ("plain.test", W.response(id: 0, name: "plain.test", answers: [[192, 0, 2, 3]], ttl: 300)),
            ("www.chain.test", chain),
            ("nothing.neg.test", W.response(id: 0, name: "nothing.neg.test", rcode: 3,
                                            authority: [W.soa(zone: "neg.test", ttl: 900, minimum: 60)])),
        ]
    }()

    /// A TXT answer of 602 RDATA octets: over 512 without EDNS.
    static let bigTXT = W.response(id: 0, name: "big.test", type: 16,
                                   answers: [[255] + Array(repeating: 0x61, count: 255) + [255]
                                       + Array(repeating: 0x62, count: 255) + [90] + Array(repeating: 0x63, count: 90)])

    /// Sends `query` through handleQuery and answers its upstream query with `answer` (ID patched in).
    func prime(_ lab: H, _ query: [UInt8], answer: [UInt8], at seconds: Double = 0) throws {
        let sent = try #require(H.sent(lab.query(query, at: seconds)))
        var reply = answer
        reply[0] = sent.bytes[0]
        reply[1] = sent.bytes[1]
        #expect(H.replies(lab.reply(reply, token: sent.token, at: seconds)).count == 1)
    }

    /// Every fixture under DO clear/set × CD clear/set, plus big.test and a 10 s short.test.
    func fill(_ lab: H) throws {
        for (name, reply) in Self.cached {
            for dnssecOK in [false, true] {
                for flags: UInt16 in [0x0100, 0x0110] {
                    try prime(lab, Self.query(name, flags: flags, edns: dnssecOK ? 1232 : nil, dnssecOK: dnssecOK), answer: reply)
                }
            }
        }
        try prime(lab, Self.query("big.test", type: 16, edns: 4096), answer: Self.bigTXT)
        try prime(lab, Self.query("short.test"), answer: W.response(id: 0, name: "short.test", answers: [[1, 2, 3, 4]], ttl: 10))
    }

    func fastPath(_ lab: H, _ wire: [UInt8], at seconds: Double = 1,
                  capacity: Int = 4096) -> (bytes: [UInt8], code: DNSResponseCode)? {
        // Filled with 0xAA so bytes the path forgot to write show up in comparisons.
        var out = [UInt8](repeating: 0xAA, count: capacity)
        let result = wire.withUnsafeBytes { query in
            out.withUnsafeMutableBytes { lab.forwarder.answerFromCache(query, now: lab.at(seconds), into: $0) }
        }
        return result.map { (Array(out[..<$0.length]), $0.code) }
    }

    func insert(_ lab: H, _ wire: [UInt8], type: RecordType = .a, lifetime: UInt32) throws {
        let layout = try #require(wire.withUnsafeBytes { MessageLayout(wire: $0) })
        let name = try DecodedReply(wire).questionName.dropLast()
        lab.forwarder.cache.insert(CachedAnswer(wire: wire, layout: layout, kind: .positive, storedAt: lab.at(0),
                                                lifetime: lifetime, upstream: 0),
                                   for: CacheKey(name: W.name(String(name)), type: type, class: 1, dnssecOK: false,
                                                 checkingDisabled: false), now: lab.at(0))
    }

    // The fast path is only safe if a client cannot tell it from handleQuery: every case, EDNS, DO/CD/RD mix.
    @Test func repliesMatchHandleQueryByteForByte() throws {
        let lab = H()
        try fill(lab)
        let ednsVariants: [(UInt16?, Bool)] = [(nil, false), (4096, false), (4096, true), (1232, false), (1232, true),
                                               (600, false), (600, true)]
        var compared = 0
        for (name, _) in Self.cached {
            for spelled in [name, Self.mixedCase(name)] {
                for flags: UInt16 in [0x0100, 0x0110, 0x0000] {
                    for (edns, dnssecOK) in ednsVariants {
                        let wire = Self.query(id: 0xBEEF, spelled, flags: flags, edns: edns, dnssecOK: dnssecOK)
                        let label = "\(spelled) flags \(flags) edns \(String(describing: edns)) DO \(dnssecOK)"
                        let fast = try #require(fastPath(lab, wire, at: 7.5), "\(label)")
                        let slow = try #require(H.replies(lab.query(wire, at: 7.5)).first, "\(label)")
                        #expect(slow.source == .cache, "\(label)")
                        #expect(fast.bytes == slow.bytes, "\(label)")
                        #expect(fast.code == slow.code, "\(label)")
                        let decoded = try DecodedReply(fast.bytes)
                        #expect(decoded.id == 0xBEEF && decoded.questionName == spelled + ".", "\(label)")
                        compared += 1
                    }
                }
            }
        }
        #expect(compared == 4 * 2 * 3 * 7)
        #expect(lab.forwarder.counters.forwarded == 4 * 4 + 2, "every handleQuery above was a hit")
    }

    // A hit must be counted exactly once (the daemon then skips handleQuery), and a miss not at all (handleQuery counts it).
    @Test func hitsCountOnceAndMissesNotAtAll() throws {
        let lab = H()
        try fill(lab)
        let before = Tally(lab)
        for id in 0..<5 {
            #expect(fastPath(lab, Self.query(id: UInt16(id), "plain.test"), at: 2) != nil)
        }
        let after = Tally(lab)
        #expect(after.queries == before.queries + 5)
        #expect(after.fromCache == before.fromCache + 5)
        #expect(after.hits == before.hits + 5)
        #expect([after.misses, after.expired, after.dropped, after.entries] == [before.misses, before.expired, before.dropped, before.entries])
        #expect(fastPath(lab, Self.query("absent.test")) == nil)
        #expect(fastPath(lab, Self.query("short.test"), at: 10) == nil)
        #expect(fastPath(lab, Self.query("plain.test", flags: 0x2100)) == nil)
        #expect(Tally(lab) == after)
    }

    // Each shape handleQuery answers differently (drop, FORMERR, BADVERS, REFUSED, TC) must fall through untouched.
    @Test func everyOtherCaseIsNilAndUncounted() throws {
        let lab = H()
        try fill(lab)
        let plain = Self.query("plain.test")
        let axfr = W.response(id: 0, name: "plain.test", type: 252, answers: [[1, 2, 3, 4]])
        try insert(lab, axfr, type: 252, lifetime: 300)
        try insert(lab, W.response(id: 0, name: "plain.test", type: 251, answers: [[1, 2, 3, 4]]), type: 251, lifetime: 300)
        var twoQuestions = W.query(id: 1, name: "plain.test", questionCount: 2)
        twoQuestions += W.name("plain.test") + W.word(1) + W.word(1)
        var withAnswer = plain
        withAnswer[7] = 1
        withAnswer += Self.record([0xC0, 12], type: 1, ttl: 0, [1, 2, 3, 4])
        var version1 = plain
        version1[11] = 1
        version1 += [0] + W.word(41) + W.word(1232) + [0, 1] + W.word(0) + W.word(0)
        var optNotLast = Self.query("plain.test", edns: 1232)
        optNotLast[11] = 2
        optNotLast += Self.record([0xC0, 12], type: 1, ttl: 0, [1, 2, 3, 4])
        let compressed = Array(plain.prefix(12)) + [0xC0, 12] + W.word(1) + W.word(1)
        let cases: [(String, [UInt8], Double)] = [
            ("not cached", Self.query("absent.test"), 1),
            ("expired", Self.query("short.test"), 10),
            ("DO set, only DO clear cached", Self.query("short.test", edns: 1232, dnssecOK: true), 1),
            ("QR set", Self.query("plain.test", flags: 0x8100), 1),
            ("opcode 4", Self.query("plain.test", flags: 0x2100), 1),
            ("two questions", twoQuestions, 1),
            ("answer record present", withAnswer, 1),
            ("EDNS version 1", version1, 1),
            ("OPT not last", optNotLast, 1),
            ("garbage after OPT", Self.query("plain.test", edns: 1232) + [0], 1),
            ("garbage after question", plain + [0, 0], 1),
            ("AXFR", Self.query("plain.test", type: 252), 1),
            ("IXFR", Self.query("plain.test", type: 251), 1),
            ("compressed question name", compressed, 1),
            ("truncated header", Array(plain.prefix(11)), 1),
            ("truncated question", Array(plain.dropLast(2)), 1),
            ("big TXT without EDNS", Self.query("big.test", type: 16), 1),
            ("big TXT with EDNS 600", Self.query("big.test", type: 16, edns: 600), 1),
        ]
        let before = Tally(lab)
        for (label, wire, seconds) in cases {
            #expect(fastPath(lab, wire, at: seconds) == nil, "\(label)")
            #expect(Tally(lab) == before, "\(label)")
        }
        // The entries above are real: the guards, not the cache, made those nil.
        #expect(fastPath(lab, Self.query("big.test", type: 16, edns: 1232)) != nil)
        #expect(fastPath(lab, Self.query("short.test"), at: 9.9) != nil)
        // handleQuery answers the over-limit client with TC from the cache entry.
        let slow = try #require(H.replies(lab.query(Self.query("big.test", type: 16), at: 1)).first)
        #expect(slow.source == .cache)
        #expect(W.header(slow.bytes).flags & 0x0200 != 0 && W.header(slow.bytes).an == 0)
    }

    // A caller's buffer must never be overrun; too small means handleQuery's array path instead.
    @Test func tooSmallOutputBufferIsNilAndUncounted() throws {
        let lab = H()
        try fill(lab)
        let wire = Self.query("two.test", edns: 1232)
        let length = try #require(H.replies(lab.query(wire, at: 1)).first).bytes.count
        let before = Tally(lab)
        #expect(fastPath(lab, wire, capacity: length - 1) == nil)
        #expect(Tally(lab) == before)
        #expect(fastPath(lab, wire, capacity: length)?.bytes.count == length)
    }

    // Local zones answer before the cache in handleQuery; a fast hit on a zone name would serve stale upstream data.
    @Test func localZoneNamesAreLeftToHandleQuery() throws {
        let lab = H()
        try fill(lab)
        try prime(lab, Self.query("router.lan"), answer: W.response(id: 0, name: "router.lan", answers: [[10, 0, 0, 1]]))
        try prime(lab, Self.query("lan"), answer: W.response(id: 0, name: "lan", answers: [[10, 0, 0, 2]]))
        #expect(fastPath(lab, Self.query("router.lan")) != nil, "served from cache before the zone exists")
        let directory = TemporaryZoneDirectory()
        directory.write("lan.zone", """
            $ORIGIN lan.
            $TTL 3600
            @       IN SOA router hostmaster 1 3600 600 604800 300
            @       IN NS  router
            router  IN A   192.0.2.1

            """)
        lab.forwarder.localZones = try LocalZones.load(directory: directory.path)
        let before = Tally(lab)
        for wire in [Self.query("router.lan"), Self.query("RoUtEr.LAN", edns: 1232), Self.query("lan")] {
            #expect(fastPath(lab, wire) == nil)
        }
        #expect(Tally(lab) == before)
        let zone = try #require(H.replies(lab.query(Self.query("RoUtEr.LAN"), at: 1)).first)
        #expect(zone.source == .localZone)
        #expect(try DecodedReply(zone.bytes).answer.map(\.rdata) == [[192, 0, 2, 1]])
        #expect(fastPath(lab, Self.query("plain.test")) != nil, "names outside the zone still hit")
    }

    // Clients must see the time left, not the time stored; and our OPT, not the upstream's.
    @Test func ttlsAreAgedAndOPTIsOurs() throws {
        let lab = H()
        try fill(lab)
        func ttls(_ wire: [UInt8], at seconds: Double) throws -> [UInt32] {
            let reply = try DecodedReply(try #require(fastPath(lab, wire, at: seconds)).bytes)
            return (reply.answer + reply.authority).map(\.ttl)
        }
        #expect(try ttls(Self.query("two.test"), at: 7.5) == [293, 293])
        #expect(try ttls(Self.query("two.test"), at: 299.9) == [1, 1])
        #expect(try ttls(Self.query("www.chain.test"), at: 7) == [113, 113, 113], "clamped to the 120 s lifetime, then aged")
        #expect(try ttls(Self.query("nothing.neg.test"), at: 7) == [53])
        // Stored TTL below the entry's lifetime: aged to 0, not wrapped round.
        try insert(lab, W.response(id: 0, name: "floor.test", answers: [[1, 1, 1, 1]], ttl: 5), lifetime: 300)
        #expect(try ttls(Self.query("floor.test"), at: 10) == [0])

        let upstreamDO = try #require(fastPath(lab, Self.query("two.test", edns: 4096))).bytes
        #expect(Array(upstreamDO.suffix(11)) == W.opt(udpSize: 1232, dnssecOK: false), "client's DO clear echoed")
        let clientDO = try #require(fastPath(lab, Self.query("two.test", edns: 600, dnssecOK: true))).bytes
        #expect(Array(clientDO.suffix(11)) == W.opt(udpSize: 1232, dnssecOK: true))
        let added = try #require(fastPath(lab, Self.query("plain.test", edns: 4096, dnssecOK: true))).bytes
        #expect(W.header(added).ar == 1 && Array(added.suffix(11)) == W.opt(udpSize: 1232, dnssecOK: true))
        let dropped = try #require(fastPath(lab, Self.query("two.test"))).bytes
        #expect(try DecodedReply(dropped).opt == nil && W.header(dropped).ar == 0)
    }
}
