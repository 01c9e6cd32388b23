import Testing
@testable import DNSForward

/// `--max-in-flight-per-client`: one client address may hold only so many
/// upstream attempts; its further misses get SERVFAIL, other clients are served.
@Suite("Forwarder: per-client in-flight quota")
struct ForwarderQuotaTests {
    typealias H = ForwarderHarness
    typealias W = WireFixtures

    /// A harness whose forwarder allows `total` attempts, `perClient` per client (nil: the default).
    static func lab(upstreams: Int = 1, total: Int, perClient: Int? = nil) -> H {
        let lab = H(upstreams: upstreams, maximumInFlight: total)
        var configuration = lab.forwarder.configuration
        configuration.maximumInFlightPerClient = perClient
        lab.forwarder.reconfigure(configuration)
        return lab
    }

    @Test("the default is a quarter of the total, at least 1", arguments: [(4096, 1024), (8, 2), (3, 1), (1, 1)])
    func defaultQuota(total: Int, expected: Int) {
        #expect(ForwarderConfiguration(upstreamNames: ["u"], maximumInFlight: total).inFlightPerClientLimit == expected)
    }

    @Test func floodingClientGetsServfailWhileOthersAreForwarded() throws {
        let lab = Self.lab(total: 8)
        #expect(H.sent(lab.query(W.query(id: 1, name: "b1.test"), client: "flood")) != nil)
        #expect(H.sent(lab.query(W.query(id: 2, name: "b2.test"), client: "flood")) != nil)
        let refused = lab.query(W.query(id: 3, name: "b3.test"), client: "flood")
        #expect(H.sent(refused) == nil)
        #expect(H.replies(refused).map(\.code) == [.serverFailure])
        #expect(lab.forwarder.counters.overQuota == 1 && lab.forwarder.counters.overloaded == 0)
        for index in 0..<2 {
            #expect(H.sent(lab.query(W.query(id: 10, name: "ok\(index).test"), client: "other")) != nil)
        }
        #expect(lab.forwarder.inFlightCount == 4)
    }

    @Test func quotaComesBackWhenAttemptsEnd() throws {
        let lab = Self.lab(total: 8, perClient: 1)
        let first = try #require(H.sent(lab.query(W.query(id: 1, name: "slow.test"), client: "flood")))
        #expect(H.sent(lab.query(W.query(id: 2, name: "slow2.test"), client: "flood")) == nil)
        // The upstream never answers: SERVFAIL at the timeout frees the slot.
        let expired = lab.forwarder.expire(now: lab.at(2))
        #expect(H.closes(expired, first.token))
        #expect(lab.forwarder.inFlightByClient.isEmpty)
        let next = try #require(H.sent(lab.query(W.query(id: 3, name: "slow3.test"), client: "flood", at: 2)))
        // An answer frees it too.
        let reply = W.response(id: W.header(next.bytes).id, name: "slow3.test", answers: [[192, 0, 2, 1]], ttl: 60)
        #expect(H.replies(lab.reply(reply, token: next.token, at: 2.1)).map(\.code) == [.noError])
        #expect(H.sent(lab.query(W.query(id: 4, name: "slow4.test"), client: "flood", at: 2.2)) != nil)
    }

    @Test func anAttemptCountsOnceThroughFailoverToTheNextUpstream() throws {
        let lab = Self.lab(upstreams: 2, total: 8, perClient: 1)
        let first = try #require(H.sent(lab.query(W.query(id: 1, name: "fail.test"), client: "flood")))
        let next = try #require(H.request(lab.forwarder.expire(now: lab.at(2))))
        #expect(first.upstream == 0 && next.upstream == 1)
        #expect(lab.forwarder.inFlightByClient == ["flood": 1])
        #expect(H.sent(lab.query(W.query(id: 2, name: "other.test"), client: "flood", at: 2)) == nil)
        _ = lab.forwarder.expire(now: lab.at(4))
        #expect(lab.forwarder.inFlightByClient.isEmpty)
    }

    /// Coalescing costs no upstream query, so a client at its quota may still
    /// wait on an attempt another client started, and waiting adds nothing to
    /// its count: the attempt counts against the client that started it.
    @Test func joiningAnotherClientsAttemptIsNotCounted() throws {
        let lab = Self.lab(total: 8, perClient: 1)
        let shared = try #require(H.sent(lab.query(W.query(id: 1, name: "shared.test"), client: "other")))
        _ = try #require(H.sent(lab.query(W.query(id: 2, name: "own.test"), client: "flood")))
        #expect(lab.query(W.query(id: 3, name: "shared.test"), client: "flood").isEmpty, "coalesced, no SERVFAIL")
        #expect(lab.forwarder.counters.coalesced == 1 && lab.forwarder.counters.overQuota == 0)
        #expect(lab.forwarder.inFlightByClient == ["other": 1, "flood": 1])
        let reply = W.response(id: W.header(shared.bytes).id, name: "shared.test", answers: [[192, 0, 2, 7]], ttl: 60)
        #expect(H.replies(lab.reply(reply, token: shared.token)).map(\.client) == ["other", "flood"])
        #expect(lab.forwarder.inFlightByClient == ["flood": 1])
    }

    @Test func cacheHitsAreServedToAClientAtItsQuota() throws {
        let lab = Self.lab(total: 8, perClient: 1)
        let sent = try #require(H.sent(lab.query(W.query(id: 1, name: "cached.test"), client: "flood")))
        let reply = W.response(id: W.header(sent.bytes).id, name: "cached.test", answers: [[192, 0, 2, 8]], ttl: 60)
        _ = lab.reply(reply, token: sent.token)
        _ = try #require(H.sent(lab.query(W.query(id: 2, name: "hang.test"), client: "flood")))
        let hit = lab.query(W.query(id: 3, name: "cached.test"), client: "flood")
        #expect(H.replies(hit).map(\.source) == [.cache])
        #expect(lab.forwarder.counters.overQuota == 0)
    }

    @Test func raisingTheQuotaOnReloadAppliesAtOnce() throws {
        let lab = Self.lab(total: 8, perClient: 1)
        _ = try #require(H.sent(lab.query(W.query(id: 1, name: "r1.test"), client: "flood")))
        #expect(H.sent(lab.query(W.query(id: 2, name: "r2.test"), client: "flood")) == nil)
        var configuration = lab.forwarder.configuration
        configuration.maximumInFlightPerClient = 2
        #expect(lab.forwarder.reconfigure(configuration).isEmpty)
        #expect(H.sent(lab.query(W.query(id: 3, name: "r3.test"), client: "flood")) != nil)
    }
}
