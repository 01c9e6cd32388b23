import Testing
@testable import DNSForward

/// A UDP query with no reply goes to the same upstream again before the
/// timeout (`ForwarderConfiguration.upstreamRetransmits`), after the
/// upstream's retransmit timeout (RFC 6298: SRTT + 4·RTTVAR, 200 ms to half
/// the timeout), doubling. The timeout and failover stay as they were.
@Suite("Upstream retransmission")
struct RetransmissionTests {
    typealias H = ForwarderHarness

    /// One answered query 10 ms after it went out: SRTT 10 ms, RTTVAR 5 ms,
    /// so the retransmit timeout is 30 ms, raised to the 200 ms floor.
    private static func measured(_ lab: H) throws {
        let sent = try #require(H.sent(lab.query(WireFixtures.query(id: 1, name: "warm.example.test"))))
        let answer = WireFixtures.response(id: WireFixtures.header(sent.bytes).id, name: "warm.example.test",
                                           answers: [[192, 0, 2, 1]])
        #expect(H.replies(lab.reply(answer, token: sent.token, at: 0.010)).count == 1)
    }

    private static func requests(_ actions: [H.Action]) -> [UpstreamRequest] {
        actions.compactMap { if case .sendUpstream(let request) = $0 { request } else { nil } }
    }

    @Test func aQueryWithNoReplyIsSentAgainSameBytesSameSocket() throws {
        let lab = H(upstreams: 2, retransmits: 2)
        try Self.measured(lab)
        let first = try #require(H.request(lab.query(WireFixtures.query(id: 2, name: "lost.example.test"), at: 1)))
        #expect(!first.isRetransmission)
        #expect(lab.forwarder.nextDeadline == lab.at(1.2))
        #expect(lab.forwarder.expire(now: lab.at(1.199)).isEmpty)

        let again = Self.requests(lab.forwarder.expire(now: lab.at(1.2)))
        #expect(again.count == 1)
        #expect(again.first?.isRetransmission == true)
        #expect(again.first?.token == first.token, "the attempt waits where it was: a reply to either copy finds it")
        #expect(again.first?.bytes == first.bytes)
        #expect(again.first?.upstream == 0)

        // Doubled: 200 ms waited, the next one 400 ms later; then no more (2 retransmits).
        #expect(lab.forwarder.expire(now: lab.at(1.599)).isEmpty)
        #expect(Self.requests(lab.forwarder.expire(now: lab.at(1.6))).map(\.isRetransmission) == [true])
        #expect(lab.forwarder.counters.retransmissions == 2)
        #expect(lab.forwarder.nextDeadline == lab.at(3), "only the timeout is left")

        // The timeout and failover are unchanged: upstream 1 next, counted as one timeout.
        let failover = lab.forwarder.expire(now: lab.at(3))
        #expect(H.closes(failover, first.token))
        let next = try #require(H.request(failover))
        #expect(next.upstream == 1)
        #expect(!next.isRetransmission)
        #expect(lab.forwarder.counters.timeouts == 1)
    }

    @Test func aReplyToARetransmittedQueryAnswersButGivesNoRTTSample() throws {
        let lab = H(retransmits: 2)
        try Self.measured(lab)
        let before = try #require(lab.forwarder.upstreamHealth.first?.smoothedRTT)
        let sent = try #require(H.request(lab.query(WireFixtures.query(id: 3, name: "late.example.test"), at: 1)))
        _ = lab.forwarder.expire(now: lab.at(1.2))
        let answer = WireFixtures.response(id: sent.id, name: "late.example.test", answers: [[192, 0, 2, 3]])
        let out = H.replies(lab.reply(answer, token: sent.token, at: 1.25))
        #expect(out.map(\.code) == [.noError])
        let health = try #require(lab.forwarder.upstreamHealth.first)
        #expect(health.smoothedRTT == before, "250 ms or 50 ms? Karn's rule: neither is taken")
        #expect(health.failures == 0, "a retransmission is no failure")
        #expect(lab.forwarder.inFlightCount == 0)
        #expect(lab.forwarder.nextDeadline == nil, "the attempt's stale entries go with it")
    }

    @Test func anUnmeasuredUpstreamWaitsHalfTheTimeoutFirst() throws {
        let lab = H(retransmits: 2)
        let sent = try #require(H.request(lab.query(WireFixtures.query(id: 4, name: "first.example.test"))))
        #expect(lab.forwarder.nextDeadline == lab.at(1))
        #expect(Self.requests(lab.forwarder.expire(now: lab.at(1))).map(\.token) == [sent.token])
        // The next would be at 3 s, past the 2 s deadline: none.
        #expect(lab.forwarder.nextDeadline == lab.at(2))
    }

    @Test func theLetterCaseIsTheFirstCopysNotANewOne() throws {
        var bits: UInt64 = 0b0101
        let lab = H(caseBits: { defer { bits = ~bits }; return bits }, retransmits: 1)
        let sent = try #require(H.request(lab.query(WireFixtures.query(id: 5, name: "case.example.test"))))
        let again = try #require(H.request(lab.forwarder.expire(now: lab.at(1))))
        #expect(again.bytes == sent.bytes, "a reply must echo the case remembered for the attempt")
    }

    @Test func aLatePassWithTheTimeoutDueFailsOverWithoutRetransmitting() throws {
        let lab = H(upstreams: 2, retransmits: 2)
        let sent = try #require(H.request(lab.query(WireFixtures.query(id: 9, name: "late-pass.example.test"))))
        let actions = lab.forwarder.expire(now: lab.at(5))
        #expect(Self.requests(actions).map(\.upstream) == [1], "no copy to upstream 0, whose time is up")
        #expect(H.closes(actions, sent.token))
        #expect(lab.forwarder.counters.retransmissions == 0)
    }

    @Test func zeroTurnsItOff() throws {
        let lab = H(retransmits: 0)
        try Self.measured(lab)
        _ = lab.query(WireFixtures.query(id: 6, name: "off.example.test"), at: 1)
        #expect(lab.forwarder.nextDeadline == lab.at(3))
        #expect(lab.forwarder.expire(now: lab.at(2.9)).isEmpty)
        #expect(lab.forwarder.counters.retransmissions == 0)
    }

    @Test func streamsAreNotRetransmittedTo() throws {
        // Over TLS (a stream upstream) and over TCP after TC: the stream carries its own.
        let tls = H(retransmits: 2, streamUpstreams: [0])
        _ = tls.query(WireFixtures.query(id: 7, name: "tls.example.test"))
        #expect(tls.forwarder.nextDeadline == tls.at(2))

        let lab = H(retransmits: 2)
        let udp = try #require(H.sent(lab.query(WireFixtures.query(id: 8, name: "big.example.test", type: 16))))
        let tc = WireFixtures.response(id: 0x4000, name: "big.example.test", type: 16, flags: 0x8380)
        let tcp = try #require(H.request(lab.reply(tc, token: udp.token, at: 0.5)))
        #expect(tcp.transport == .tcp)
        #expect(lab.forwarder.nextDeadline == lab.at(2.5))
        #expect(lab.forwarder.counters.retransmissions == 0)
    }
}
