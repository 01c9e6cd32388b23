import Logging
import Testing
@testable import DNSForward

/// Two forwarders (two worker threads' worth) on one cache: what one stores,
/// or marks, the other answers from.
@Suite("Forwarders sharing a cache")
struct SharedCacheForwarderTests {
    typealias H = ForwarderHarness
    typealias W = WireFixtures

    let start = MonotonicInstant.now

    func at(_ seconds: Double) -> MonotonicInstant { start + .milliseconds(Int64(seconds * 1000)) }

    static func forwarder(_ label: String, sharing cache: DNSCache, firstID: UInt16) -> Forwarder<String> {
        var ids = firstID
        return Forwarder(configuration: ForwarderConfiguration(upstreamNames: ["upstream0"], upstreamPolicy: .ordered,
                                                               cache: cache.configuration).withoutCaseRandomization,
                         logger: Logger(label: label), cache: cache, makeID: { defer { ids &+= 1 }; return ids })
    }

    static func sharedCache(serveStale: UInt32 = 0) -> DNSCache {
        var configuration = CacheConfiguration()
        configuration.capacity = 4096
        configuration.serveStale = serveStale
        return DNSCache(configuration: configuration, shards: 4)
    }

    /// `name` asked through `forwarder` and answered by its upstream with `address`.
    func prime(_ forwarder: Forwarder<String>, _ name: String, address: UInt8, at seconds: Double = 0) throws {
        let sent = try #require(H.sent(W.query(id: 1, name: name).withUnsafeBytes {
            forwarder.handleQuery($0, from: "client", now: at(seconds))
        }))
        let reply = W.response(id: W.header(sent.bytes).id, name: name, answers: [[192, 0, 2, address]], ttl: 300)
        let replies = H.replies(reply.withUnsafeBytes { forwarder.handleUpstreamReply($0, token: sent.token, now: at(seconds)) })
        #expect(replies.count == 1 && replies.first?.source == .upstream(0))
    }

    @Test func answerStoredThroughOneForwarderIsAHitForTheOther() throws {
        let shared = Self.sharedCache()
        let a = Self.forwarder("a", sharing: shared, firstID: 0x1000)
        let b = Self.forwarder("b", sharing: shared, firstID: 0x2000)
        #expect(a.cache === shared && b.cache === shared)
        try prime(a, "shared.test", address: 7)

        var out = [UInt8](repeating: 0xAA, count: 1232)
        let fast = W.query(id: 0x2222, name: "Shared.TEST").withUnsafeBytes { query in
            out.withUnsafeMutableBytes { b.answerFromCache(query, now: at(10), into: $0) }
        }
        let hit = try #require(fast, "B's fast path finds what A stored")
        let fastBytes = Array(out[..<hit.length])
        #expect(hit.code == .noError)
        #expect(W.header(fastBytes).id == 0x2222)
        #expect(Array(fastBytes[12..<25]) == W.name("Shared.TEST"), "B's client's spelling")
        #expect(firstAnswerTTL(fastBytes, questionName: "shared.test") == 290)
        #expect(Array(fastBytes.suffix(4)) == [192, 0, 2, 7])

        let actions = W.query(id: 0x3333, name: "shared.test").withUnsafeBytes {
            b.handleQuery($0, from: "client-b", now: at(20))
        }
        #expect(H.sent(actions) == nil, "B does not ask upstream")
        let full = try #require(H.replies(actions).first)
        #expect(full.source == .cache && full.client == "client-b")
        #expect(W.header(full.bytes).id == 0x3333)
        #expect(firstAnswerTTL(full.bytes, questionName: "shared.test") == 280)

        #expect(a.counters.answeredFromCache == 0 && b.counters.answeredFromCache == 2)
        #expect(shared.counters.hits == 2, "both of B's hits counted in the one cache")
        #expect(shared.counters.misses == 1 && shared.counters.insertions == 1)
        let key = CacheKey(name: W.name("shared.test"), type: 1, class: 1, dnssecOK: false, checkingDisabled: false)
        #expect(shared.entry(for: key)?.hits == 2)
    }

    /// Every upstream failed for A's client: the serve-stale mark A sets in
    /// the cache makes B answer stale at once, as A itself would.
    @Test func serveStaleMarkSetThroughOneForwarderIsHonouredByTheOther() throws {
        let shared = Self.sharedCache(serveStale: 3600)
        let a = Self.forwarder("a", sharing: shared, firstID: 0x1000)
        let b = Self.forwarder("b", sharing: shared, firstID: 0x2000)
        try prime(a, "stale.test", address: 9)
        // Expired at 300 s; A asks upstream again and the query times out.
        _ = try #require(H.sent(W.query(id: 2, name: "stale.test").withUnsafeBytes { a.handleQuery($0, from: "a1", now: at(400)) }))
        let stale = try #require(H.replies(a.expire(now: at(403))).first)
        #expect(stale.source == .staleCache)

        let actions = W.query(id: 3, name: "stale.test").withUnsafeBytes { b.handleQuery($0, from: "b1", now: at(404)) }
        let answered = try #require(H.replies(actions).first, "B answers at once within A's recheck window")
        #expect(answered.source == .staleCache && answered.client == "b1")
        #expect(Array(answered.bytes.suffix(4)) == [192, 0, 2, 9])
        #expect(H.sent(actions) != nil, "and refreshes in the background")
        #expect(shared.counters.staleHits == 2)
    }

    /// Prefetch: the hit that claims the entry's refresh claims it for every
    /// worker, so workers sharing the cache send one refresh, not one each.
    @Test func oneWorkersPrefetchClaimsTheEntryForAll() throws {
        let shared = Self.sharedCache()
        let a = Self.forwarder("a", sharing: shared, firstID: 0x1000)
        let b = Self.forwarder("b", sharing: shared, firstID: 0x2000)
        try prime(a, "popular.test", address: 5)
        let ask = { (forwarder: Forwarder<String>, seconds: Double) in
            W.query(id: 4, name: "popular.test").withUnsafeBytes { forwarder.handleQuery($0, from: "c", now: self.at(seconds)) }
        }
        _ = ask(b, 10)
        #expect(H.sent(ask(a, 280)) != nil, "A's hit in the last tenth refreshes")
        #expect(H.sent(ask(b, 281)) == nil, "B finds it claimed")
        #expect(a.counters.prefetches + b.counters.prefetches == 1)
    }
}
