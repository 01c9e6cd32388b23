import Testing
@testable import DNSForward

/// `PrefetchRule` on its own: the tenth, the hit floor, the lifetime floor.
@Suite("Prefetch: the trigger rule")
struct PrefetchRuleTests {
    static func due(lifetime: UInt32, hits: UInt32 = 2, age: UInt32, kind: CachedAnswer.Kind = .positive) -> Bool {
        PrefetchRule.isDue(age: age, lifetime: lifetime, hits: hits, kind: kind)
    }

    /// Whole seconds of age, as a hit computes them: due once the TTL a client
    /// would get is a tenth of the lifetime or less, never once expired.
    @Test("a tenth of the lifetime left or less", arguments: [
        (30 as UInt32, 26 as UInt32, false), (30, 27, true), (30, 29, true), (30, 30, false),
        (15, 13, false), (15, 14, true), (100, 89, false), (100, 90, true), (86_400, 77_759, false), (86_400, 77_760, true),
        (.max, 0, false), (.max, .max - 1, true),
    ])
    func tenth(lifetime: UInt32, age: UInt32, due: Bool) {
        #expect(Self.due(lifetime: lifetime, age: age) == due)
    }

    @Test func fewerThanTwoHitsIsNotDue() {
        #expect(!Self.due(lifetime: 30, hits: 1, age: 29))
        #expect(!Self.due(lifetime: 30, hits: 0, age: 29))
        #expect(Self.due(lifetime: 30, hits: 7, age: 29))
    }

    @Test("lifetimes under 10 s are never due", arguments: [(9 as UInt32, 8 as UInt32), (5, 4), (1, 0), (10, 9)])
    func shortLifetimes(lifetime: UInt32, age: UInt32) {
        #expect(Self.due(lifetime: lifetime, hits: 100, age: age) == (lifetime >= 10))
    }

    @Test func serverFailuresAreNeverDue() {
        #expect(!Self.due(lifetime: 30, hits: 5, age: 29, kind: .serverFailure))
        #expect(Self.due(lifetime: 30, hits: 5, age: 29, kind: .nameError))
    }
}

/// `serve --prefetch` through the forwarder, with the clock injected: which
/// hits start a refresh, that it is one attempt no client waits on and no
/// client pays for, and that its answer replaces the entry.
@Suite("Prefetch: forwarder")
struct PrefetchForwarderTests {
    typealias H = ForwarderHarness
    typealias W = WireFixtures

    static func key(_ name: String) -> CacheKey {
        CacheKey(name: W.name(name), type: .a, class: .in, dnssecOK: false, checkingDisabled: false)
    }

    static func lab(maximumInFlight: Int = 100, perClient: Int? = nil, prefetch: Bool = true) -> H {
        let lab = H(maximumInFlight: maximumInFlight)
        var configuration = lab.forwarder.configuration
        configuration.maximumInFlightPerClient = perClient
        configuration.prefetch = prefetch
        lab.forwarder.reconfigure(configuration)
        return lab
    }

    /// Answers `request` with one A record of `ttl`; returns the forwarder's actions.
    static func answer(_ lab: H, _ request: (token: UInt64, upstream: Int, bytes: [UInt8], transport: Transport),
                       name: String, ttl: UInt32, last: UInt8 = 1, rcode: UInt16 = 0, at seconds: Double) -> [H.Action] {
        let reply = W.response(id: W.header(request.bytes).id, name: name, rcode: rcode,
                               answers: rcode == 0 ? [[192, 0, 2, last]] : [], ttl: ttl)
        return lab.reply(reply, token: request.token, at: seconds)
    }

    /// Caches `name` with `ttl` at time `seconds` through a client miss.
    static func cache(_ lab: H, _ name: String, ttl: UInt32 = 30, at seconds: Double = 0) throws {
        let sent = try #require(H.sent(lab.query(W.query(id: 1, name: name), at: seconds)))
        #expect(H.replies(answer(lab, sent, name: name, ttl: ttl, at: seconds)).count == 1)
    }

    static func hit(_ lab: H, _ name: String, client: String = "client", at seconds: Double) -> [H.Action] {
        let actions = lab.query(W.query(id: 2, name: name), client: client, at: seconds)
        #expect(H.replies(actions).map(\.source) == [.cache], "answered from the cache at once")
        return actions
    }

    /// A lab where `name` (TTL 30, cached at 0, hit at 1) just had its refresh
    /// started by a hit at `seconds`; the refresh's upstream query.
    static func refreshing(_ name: String, at seconds: Double = 28, in lab: H = lab()) throws
        -> (token: UInt64, upstream: Int, bytes: [UInt8], transport: Transport) {
        try cache(lab, name)
        _ = hit(lab, name, at: 1)
        return try #require(H.sent(hit(lab, name, at: seconds)))
    }

    /// The fast path's answer; nil on a miss.
    static func fastHit(_ lab: H, _ name: String, at seconds: Double) -> (length: Int, code: DNSResponseCode, prefetch: Bool, rule: Int)? {
        var out = [UInt8](repeating: 0, count: 1232)
        return W.query(id: 3, name: name).withUnsafeBytes { query in
            out.withUnsafeMutableBytes { lab.forwarder.answerFromCache(query, now: lab.at(seconds), into: $0) }
        }
    }

    @Test func aHitInTheLastTenthAfterTwoHitsStartsOneRefresh() throws {
        let lab = Self.lab()
        try Self.cache(lab, "pop.test")
        #expect(H.sent(Self.hit(lab, "pop.test", at: 5)) == nil)
        #expect(H.sent(Self.hit(lab, "pop.test", at: 26.9)) == nil, "3.1 s of 30 left: more than a tenth")
        let actions = Self.hit(lab, "pop.test", at: 27.5)
        let refresh = try #require(H.sent(actions))
        guard case .reply = actions.first else { Issue.record("the reply comes before the refresh"); return }
        #expect(W.header(refresh.bytes).flags & 0x8000 == 0, "a query")
        #expect(lab.forwarder.counters.prefetches == 1)
        #expect(lab.forwarder.inFlightCount == 1)
    }

    @Test func aHitWithFewerThanTwoHitsStartsNothing() throws {
        let lab = Self.lab()
        try Self.cache(lab, "rare.test")
        #expect(H.sent(Self.hit(lab, "rare.test", at: 28)) == nil, "its first hit")
        #expect(lab.forwarder.counters.prefetches == 0)
        // Still due: the second hit earns it.
        #expect(H.sent(Self.hit(lab, "rare.test", at: 28.5)) != nil)
    }

    @Test func entriesUnderTenSecondsAreNotPrefetched() throws {
        let lab = Self.lab()
        try Self.cache(lab, "short.test", ttl: 9)
        for at in [1.0, 8.2, 8.5, 8.9] { #expect(H.sent(Self.hit(lab, "short.test", at: at)) == nil) }
        #expect(lab.forwarder.counters.prefetches == 0)
    }

    @Test func oneRefreshPerEntryWhateverTheHits() throws {
        let lab = Self.lab()
        try Self.cache(lab, "busy.test")
        _ = Self.hit(lab, "busy.test", at: 1)
        #expect(H.sent(Self.hit(lab, "busy.test", at: 27.2)) != nil)
        for at in [27.3, 27.4, 28, 29.9] { #expect(H.sent(Self.hit(lab, "busy.test", at: at)) == nil) }
        #expect(Self.fastHit(lab, "busy.test", at: 29.95)?.prefetch == false, "claimed already")
        #expect(lab.forwarder.counters.prefetches == 1 && lab.forwarder.inFlightCount == 1)
    }

    @Test func theRefreshReplacesTheEntryAndReachesNoClient() throws {
        let lab = Self.lab()
        let refresh = try Self.refreshing("swap.test", in: lab)
        let answered = Self.answer(lab, refresh, name: "swap.test", ttl: 30, last: 9, at: 28.5)
        #expect(H.replies(answered).isEmpty, "no client asked")
        #expect(H.closes(answered, refresh.token))
        let entry = try #require(lab.forwarder.cache.entry(for: Self.key("swap.test")))
        #expect(entry.storedAt == lab.at(28.5) && entry.lifetime == 30 && entry.hits == 0)
        // Past the old entry's expiry (30 s): still a hit, the new address, TTL from the new lifetime.
        let later = H.replies(Self.hit(lab, "swap.test", at: 35))
        #expect(later.first?.bytes.suffix(4) == [192, 0, 2, 9])
        #expect(later.first.map { firstAnswerTTL($0.bytes, questionName: "swap.test") } == 24)
        #expect(lab.forwarder.counters.answeredFromUpstream == 1, "the first miss only")
        #expect(lab.forwarder.inFlightCount == 0)
    }

    @Test func theFastPathFlagsTheHitAndTheFrontEndStartsTheRefresh() throws {
        let lab = Self.lab()
        try Self.cache(lab, "fast.test")
        #expect(Self.fastHit(lab, "fast.test", at: 2)?.prefetch == false)
        let hit = try #require(Self.fastHit(lab, "fast.test", at: 28))
        #expect(hit.prefetch && hit.code == .noError)
        let actions = W.query(id: 3, name: "fast.test").withUnsafeBytes { lab.forwarder.prefetch($0, now: lab.at(28)) }
        let refresh = try #require(H.sent(actions))
        #expect(H.replies(actions).isEmpty)
        #expect(Self.fastHit(lab, "fast.test", at: 28.1)?.prefetch == false)
        _ = Self.answer(lab, refresh, name: "fast.test", ttl: 30, at: 28.2)
        #expect(Self.fastHit(lab, "fast.test", at: 40) != nil, "the refreshed entry, past the old expiry")
    }

    @Test func prefetchesStopAtATenthOfMaxInFlight() throws {
        let lab = Self.lab(maximumInFlight: 20)
        #expect(lab.forwarder.configuration.prefetchLimit == 2)
        for index in 0..<3 {
            try Self.cache(lab, "n\(index).test")
            _ = Self.hit(lab, "n\(index).test", at: 1)
        }
        #expect(H.sent(Self.hit(lab, "n0.test", at: 28)) != nil)
        #expect(H.sent(Self.hit(lab, "n1.test", at: 28)) != nil)
        #expect(H.sent(Self.hit(lab, "n2.test", at: 28)) == nil, "the cap")
        let over = W.query(id: 4, name: "n2.test").withUnsafeBytes { lab.forwarder.prefetch($0, now: lab.at(28)) }
        #expect(over.isEmpty, "the front end's call meets the cap too")
        #expect(lab.forwarder.counters.prefetches == 2)
        // Client misses still have the rest of the table.
        #expect(H.sent(lab.query(W.query(id: 5, name: "miss.test"), at: 28)) != nil)
        #expect(lab.forwarder.counters.overloaded == 0)
    }

    @Test func aPrefetchChargesNoClientsQuota() throws {
        let lab = Self.lab(perClient: 1)
        try Self.cache(lab, "quota.test")
        _ = Self.hit(lab, "quota.test", client: "c", at: 1)
        _ = try #require(H.sent(lab.query(W.query(id: 6, name: "hang.test"), client: "c", at: 27.5)))
        #expect(lab.forwarder.inFlightByClient == ["c": 1], "at its quota")
        #expect(H.sent(Self.hit(lab, "quota.test", client: "c", at: 28)) != nil, "refreshed anyway")
        #expect(lab.forwarder.inFlightByClient == ["c": 1], "the refresh counts against nobody")
        #expect(lab.forwarder.counters.overQuota == 0)
    }

    @Test func noPrefetchTurnsItOff() throws {
        let lab = Self.lab(prefetch: false)
        try Self.cache(lab, "off.test")
        _ = Self.hit(lab, "off.test", at: 1)
        #expect(H.sent(Self.hit(lab, "off.test", at: 28)) == nil)
        #expect(Self.fastHit(lab, "off.test", at: 29)?.prefetch == false)
        let asked = W.query(id: 3, name: "off.test").withUnsafeBytes { lab.forwarder.prefetch($0, now: lab.at(29)) }
        #expect(asked.isEmpty)
        // After expiry a client's miss goes upstream.
        #expect(H.sent(lab.query(W.query(id: 7, name: "off.test"), at: 31)) != nil)
        #expect(lab.forwarder.counters.prefetches == 0)
    }
}

/// A refresh that gets no answer leaves the entry as it was; a client that
/// comes after expiry waits on the refresh in flight instead of a new query.
@Suite("Prefetch: failures")
struct PrefetchFailureTests {
    typealias H = ForwarderHarness
    typealias W = WireFixtures
    typealias P = PrefetchForwarderTests

    @Test func aTimedOutRefreshIsCountedAndTheEntryServesOn() throws {
        let lab = P.lab()
        let refresh = try P.refreshing("slow.test", at: 27.5, in: lab)
        let expired = lab.forwarder.expire(now: lab.at(29.5))
        #expect(H.closes(expired, refresh.token) && H.replies(expired).isEmpty)
        #expect(lab.forwarder.counters.prefetchFailures == 1 && lab.forwarder.inFlightCount == 0)
        #expect(H.sent(P.hit(lab, "slow.test", at: 29.8)) == nil, "one refresh per entry, failed or not")
        #expect(lab.forwarder.cache.entry(for: P.key("slow.test"))?.storedAt == lab.at(0))
    }

    @Test func aServerFailureDoesNotReplaceTheEntry() throws {
        let lab = P.lab()
        let refresh = try P.refreshing("sf.test", in: lab)
        let answered = P.answer(lab, refresh, name: "sf.test", ttl: 30, rcode: 2, at: 28.1)
        #expect(H.replies(answered).isEmpty)
        #expect(lab.forwarder.counters.prefetchFailures == 1)
        let entry = try #require(lab.forwarder.cache.entry(for: P.key("sf.test")))
        #expect(entry.kind == .positive && entry.storedAt == lab.at(0))
        #expect(H.replies(P.hit(lab, "sf.test", at: 29)).map(\.code) == [.noError])
    }

    @Test func aClientAfterExpiryJoinsTheRefreshInFlight() throws {
        let lab = P.lab()
        let refresh = try P.refreshing("edge.test", at: 29.9, in: lab)
        #expect(lab.query(W.query(id: 8, name: "edge.test"), client: "late", at: 30.2).isEmpty, "coalesced")
        let answered = P.answer(lab, refresh, name: "edge.test", ttl: 30, at: 30.3)
        #expect(H.replies(answered).map(\.client) == ["late"])
        #expect(lab.forwarder.counters.coalesced == 1 && lab.forwarder.counters.prefetches == 1)
    }
}
