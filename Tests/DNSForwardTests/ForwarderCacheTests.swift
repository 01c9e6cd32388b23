import Testing
@testable import DNSForward

@Suite("Forwarder: cache")
struct ForwarderCacheTests {
    typealias H = ForwarderHarness

    /// Sends `query` and answers its upstream query with `answer` (ID patched in).
    private func prime(_ lab: H, _ query: [UInt8], answer: [UInt8], at seconds: Double = 0) throws -> [UInt8] {
        let sent = try #require(H.sent(lab.query(query, at: seconds)))
        var reply = answer
        reply[0] = sent.bytes[0]
        reply[1] = sent.bytes[1]
        return try #require(H.replies(lab.reply(reply, token: sent.token, at: seconds)).first).bytes
    }

    @Test func secondQueryIsServedFromCacheWithAgedTTLAndClientsIDAndCase() throws {
        let lab = H()
        _ = try prime(lab, WireFixtures.query(id: 1, name: "example.test"),
                      answer: WireFixtures.response(id: 0, name: "example.test", answers: [[198, 51, 100, 80]], ttl: 300))
        let actions = lab.query(WireFixtures.query(id: 0xABCD, name: "EXAMPLE.Test"), at: 7.5)
        #expect(H.sent(actions) == nil, "upstream not asked again")
        let out = try #require(H.replies(actions).first)
        #expect(out.source == .cache)
        #expect(WireFixtures.header(out.bytes).id == 0xABCD)
        #expect(Array(out.bytes[12..<26]) == WireFixtures.name("EXAMPLE.Test"))
        #expect(firstAnswerTTL(out.bytes, questionName: "example.test") == 293)
        #expect(lab.forwarder.cache.counters.hits == 1)
        // Expired after 300 s: a miss again.
        #expect(H.sent(lab.query(WireFixtures.query(id: 2, name: "example.test"), at: 300)) != nil)
    }

    @Test func ttlIsClampedToMaximumAndRaisedToMinimum() throws {
        var configuration = CacheConfiguration()
        configuration.maximumTTL = 60
        configuration.minimumTTL = 30
        let lab = H(cache: configuration)
        let high = try prime(lab, WireFixtures.query(id: 1, name: "high.test"),
                             answer: WireFixtures.response(id: 0, name: "high.test", answers: [[1, 1, 1, 1]], ttl: 86_400))
        #expect(firstAnswerTTL(high, questionName: "high.test") == 60)
        let low = try prime(lab, WireFixtures.query(id: 2, name: "low.test"),
                            answer: WireFixtures.response(id: 0, name: "low.test", answers: [[1, 1, 1, 1]], ttl: 5))
        #expect(firstAnswerTTL(low, questionName: "low.test") == 30)
        #expect(H.sent(lab.query(WireFixtures.query(id: 3, name: "low.test"), at: 20)) == nil, "kept for the raised TTL")
    }

    @Test("negative answers are cached for min(SOA TTL, MINIMUM)", arguments: [(UInt16(3), 900, 60, 60), (0, 45, 600, 45)])
    func negativeCaching(rcode: UInt16, soaTTL: UInt32, minimum: UInt32, expected: Int) throws {
        let lab = H()
        let soa = WireFixtures.soa(zone: "example.test", ttl: soaTTL, minimum: minimum)
        _ = try prime(lab, WireFixtures.query(id: 1, name: "nothing.example.test"),
                      answer: WireFixtures.response(id: 0, name: "nothing.example.test", rcode: rcode, authority: [soa]))
        let entry = try #require(lab.forwarder.cache.entry(for: CacheKey(name: WireFixtures.name("nothing.example.test"),
                                                                         type: 1, class: 1, dnssecOK: false, checkingDisabled: false)))
        #expect(entry.kind == (rcode == 3 ? .nameError : .noData))
        #expect(entry.lifetime == UInt32(expected))
        let cached = lab.query(WireFixtures.query(id: 2, name: "nothing.example.test"), at: Double(expected) - 0.5)
        #expect(H.replies(cached).first?.code.rawValue == rcode)
        #expect(H.sent(lab.query(WireFixtures.query(id: 3, name: "nothing.example.test"), at: Double(expected))) != nil)
    }

    @Test func negativeAnswerWithoutSOAIsNotCached() throws {
        let lab = H()
        _ = try prime(lab, WireFixtures.query(id: 1, name: "gone.test"), answer: WireFixtures.response(id: 0, name: "gone.test", rcode: 3))
        #expect(lab.forwarder.cache.count == 0)
    }

    @Test func refusedIsNotCached() throws {
        let lab = H()
        _ = try prime(lab, WireFixtures.query(id: 1, name: "r.test"), answer: WireFixtures.response(id: 0, name: "r.test", rcode: 5))
        #expect(lab.forwarder.cache.count == 0)
    }

    @Test func dnssecOKQueriesHaveTheirOwnEntry() throws {
        let lab = H()
        _ = try prime(lab, WireFixtures.query(id: 1, name: "example.test"),
                      answer: WireFixtures.response(id: 0, name: "example.test", answers: [[1, 1, 1, 1]]))
        var withDO = WireFixtures.query(id: 2, name: "example.test", ednsSize: 1232)
        withDO[withDO.count - 4] = 0x80  // DO bit: high byte of the OPT's flags
        #expect(H.sent(lab.query(withDO)) != nil, "a DO query may need signatures the cached answer lacks")
    }

    @Test func ednsClientGetsOurOPTFromACachedAnswer() throws {
        let lab = H()
        _ = try prime(lab, WireFixtures.query(id: 1, name: "example.test"),
                      answer: WireFixtures.response(id: 0, name: "example.test", answers: [[1, 1, 1, 1]], ednsSize: 4096))
        let out = try #require(H.replies(lab.query(WireFixtures.query(id: 2, name: "example.test", ednsSize: 1400), at: 1)).first)
        #expect(WireFixtures.header(out.bytes).ar == 1)
        #expect(Array(out.bytes.suffix(11)) == WireFixtures.opt(udpSize: 1232))
    }

    @Test func identicalQueriesInFlightShareOneUpstreamQuery() throws {
        let lab = H()
        let first = try #require(H.sent(lab.query(WireFixtures.query(id: 1, name: "same.test"), client: "a")))
        #expect(H.sent(lab.query(WireFixtures.query(id: 2, name: "SAME.test"), client: "b")) == nil)
        #expect(H.sent(lab.query(WireFixtures.query(id: 3, name: "same.test"), client: "c")) == nil)
        #expect(lab.forwarder.counters.coalesced == 2)
        let answer = WireFixtures.response(id: WireFixtures.header(first.bytes).id, name: "same.test", answers: [[1, 2, 3, 4]])
        let out = H.replies(lab.reply(answer, token: first.token))
        #expect(out.map(\.client) == ["a", "b", "c"])
        #expect(out.map { WireFixtures.header($0.bytes).id } == [1, 2, 3])
        #expect(Array(out[1].bytes[12..<23]) == WireFixtures.name("SAME.test"), "each client sees its own case")
    }

    @Test func truncatedRepliesAreNeverCached() throws {
        let lab = H()
        let sent = try #require(H.sent(lab.query(WireFixtures.query(id: 1, name: "tc.test"))))
        let tc = WireFixtures.response(id: WireFixtures.header(sent.bytes).id, name: "tc.test", flags: 0x8380)
        let retry = try #require(H.sent(lab.reply(tc, token: sent.token)))
        #expect(retry.transport == .tcp)
        #expect(lab.forwarder.cache.count == 0)
    }

    @Test func serveStaleAnswersWithTTL30WhenUpstreamsFailAndRefreshesInBackground() throws {
        var configuration = CacheConfiguration()
        configuration.serveStale = 3600
        let lab = H(cache: configuration)
        _ = try prime(lab, WireFixtures.query(id: 1, name: "stale.test"),
                      answer: WireFixtures.response(id: 0, name: "stale.test", answers: [[1, 2, 3, 4]], ttl: 60))
        // Expired; the upstream is tried first and times out.
        let sent = try #require(H.sent(lab.query(WireFixtures.query(id: 2, name: "stale.test"), at: 100)))
        let out = try #require(H.replies(lab.forwarder.expire(now: lab.at(102))).first)
        #expect(out.source == .staleCache)
        #expect(out.code == .noError)
        #expect(WireFixtures.header(out.bytes).id == 2)
        #expect(firstAnswerTTL(out.bytes, questionName: "stale.test") == 30)
        _ = sent
        // Within the recheck window: answered at once, and one background refresh goes out.
        let next = lab.query(WireFixtures.query(id: 3, name: "stale.test"), at: 103)
        #expect(H.replies(next).first?.source == .staleCache)
        let refresh = try #require(H.sent(next))
        #expect(H.sent(lab.query(WireFixtures.query(id: 4, name: "stale.test"), at: 103.5)) == nil, "one refresh at a time")
        let fresh = WireFixtures.response(id: WireFixtures.header(refresh.bytes).id, name: "stale.test", answers: [[5, 6, 7, 8]], ttl: 60)
        #expect(H.replies(lab.reply(fresh, token: refresh.token, at: 104)).isEmpty, "the refresh has no waiting client")
        let now = try #require(H.replies(lab.query(WireFixtures.query(id: 5, name: "stale.test"), at: 105)).first)
        #expect(now.source == .cache)
        #expect(Array(now.bytes.suffix(4)) == [5, 6, 7, 8])
    }

    @Test func withoutServeStaleAnExpiredAnswerIsNotUsed() throws {
        let lab = H()
        _ = try prime(lab, WireFixtures.query(id: 1, name: "old.test"),
                      answer: WireFixtures.response(id: 0, name: "old.test", answers: [[1, 2, 3, 4]], ttl: 60))
        _ = lab.query(WireFixtures.query(id: 2, name: "old.test"), at: 100)
        #expect(H.replies(lab.forwarder.expire(now: lab.at(102))).first?.code == .serverFailure)
    }
}

@Suite("Cache eviction")
struct DNSCacheTests {
    private func answer(_ name: String, ttl: UInt32 = 300, at now: MonotonicInstant) -> CachedAnswer {
        let wire = WireFixtures.response(id: 0, name: name, answers: [[1, 1, 1, 1]], ttl: ttl)
        let layout = wire.withUnsafeBytes { MessageLayout(wire: $0) }!
        return CachedAnswer(wire: wire, layout: layout, kind: .positive, storedAt: now, lifetime: ttl, upstream: 0)
    }

    private func key(_ name: String) -> CacheKey {
        CacheKey(name: WireFixtures.name(name), type: 1, class: 1, dnssecOK: false, checkingDisabled: false)
    }

    @Test func clockGivesRecentlyUsedEntriesASecondChance() {
        var configuration = CacheConfiguration()
        configuration.capacity = 3
        let cache = DNSCache(configuration: configuration)
        let now = MonotonicInstant.now
        for name in ["a.test", "b.test", "c.test"] { cache.insert(answer(name, at: now), for: key(name), now: now) }
        _ = cache.lookup(key("a.test"), now: now)
        cache.insert(answer("d.test", at: now), for: key("d.test"), now: now)
        #expect(cache.entry(for: key("a.test")) != nil, "referenced: kept")
        #expect(cache.entry(for: key("b.test")) == nil, "first unreferenced: evicted")
        #expect(cache.count == 3)
        #expect(cache.counters.evictions == 1)
    }

    @Test func expiredEntriesGetNoSecondChance() {
        var configuration = CacheConfiguration()
        configuration.capacity = 2
        let cache = DNSCache(configuration: configuration)
        let now = MonotonicInstant.now
        cache.insert(answer("live.test", ttl: 300, at: now), for: key("live.test"), now: now)
        cache.insert(answer("short.test", ttl: 1, at: now), for: key("short.test"), now: now)
        // Both referenced: the live one gets a second chance, the expired one does not.
        _ = cache.lookup(key("live.test"), now: now)
        _ = cache.lookup(key("short.test"), now: now)
        let later = now + .seconds(5)
        cache.insert(answer("new.test", at: later), for: key("new.test"), now: later)
        #expect(cache.entry(for: key("live.test")) != nil)
        #expect(cache.entry(for: key("short.test")) == nil)
        #expect(cache.counters.expired == 1)
        #expect(cache.counters.evictions == 0)
    }

    @Test func flushByNameAndSubtree() {
        let cache = DNSCache(configuration: CacheConfiguration())
        let now = MonotonicInstant.now
        for name in ["example.test", "www.example.test", "a.b.example.test", "other.test", "notexample.test"] {
            cache.insert(answer(name, at: now), for: key(name), now: now)
        }
        #expect(cache.remove(name: WireFixtures.name("example.test"), subtree: false) == 1)
        #expect(cache.remove(name: WireFixtures.name("example.test"), subtree: true) == 2)
        #expect(cache.count == 2, "notexample.test is not below example.test")
        cache.removeAll()
        #expect(cache.count == 0 && cache.bytes == 0)
    }
}

@Suite("Replies for EDNS clients")
struct ReplyOPTTests {
    typealias H = ForwarderHarness

    @Test func opTIsAddedWhenTheUpstreamSentNone() throws {
        let lab = H()
        let sent = try #require(H.sent(lab.query(WireFixtures.query(id: 1, name: "noopt.test", ednsSize: 1232))))
        let answer = WireFixtures.response(id: WireFixtures.header(sent.bytes).id, name: "noopt.test", answers: [[1, 2, 3, 4]])
        let out = try #require(H.replies(lab.reply(answer, token: sent.token)).first)
        #expect(WireFixtures.header(out.bytes).ar == 1)
        #expect(Array(out.bytes.suffix(11)) == WireFixtures.opt(udpSize: 1232))
    }

    @Test func clientsDOBitIsEchoedEvenIfTheUpstreamDroppedIt() throws {
        let lab = H()
        var query = WireFixtures.query(id: 1, name: "nodo.test", ednsSize: 1232)
        query[query.count - 4] = 0x80
        let sent = try #require(H.sent(lab.query(query)))
        let answer = WireFixtures.response(id: WireFixtures.header(sent.bytes).id, name: "nodo.test", answers: [[1, 2, 3, 4]], ednsSize: 4096)
        let out = try #require(H.replies(lab.reply(answer, token: sent.token)).first)
        #expect(Array(out.bytes.suffix(11)) == WireFixtures.opt(udpSize: 1232, dnssecOK: true))
    }
}
