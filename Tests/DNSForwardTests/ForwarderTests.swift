import Logging
import Testing
@testable import DNSForward

/// Drives a Forwarder with hand-made wire messages and an explicit clock.
final class ForwarderHarness {
    typealias Action = ForwarderAction<String>

    let forwarder: Forwarder<String>
    private var nextID: UInt16
    let start = MonotonicInstant.now

    init(upstreams: Int = 1, maximumInFlight: Int = 100, firstID: UInt16 = 0x4000,
         policy: UpstreamPolicy = .ordered, cache: CacheConfiguration = CacheConfiguration(),
         caseBits: (() -> UInt64)? = nil, retransmits: Int = 0, streamUpstreams: Set<Int> = []) {
        nextID = firstID
        var forwarderIDs = firstID
        var configuration = ForwarderConfiguration(upstreamNames: (0..<upstreams).map { "upstream\($0)" },
                                                   upstreamTimeout: .seconds(2), maximumInFlight: maximumInFlight,
                                                   upstreamPolicy: policy, cache: cache)
        // Most tests answer in the client's own case; 0x20 tests pass their case bits.
        configuration.caseRandomization = caseBits != nil
        // Timing tests here count timeouts; RetransmissionTests turn retransmission on.
        configuration.upstreamRetransmits = retransmits
        configuration.streamUpstreams = streamUpstreams
        forwarder = Forwarder(configuration: configuration, logger: Logger(label: "test"),
                              makeID: { defer { forwarderIDs &+= 1 }; return forwarderIDs }, makeCaseBits: caseBits)
    }

    func at(_ seconds: Double) -> MonotonicInstant { start + .milliseconds(Int64(seconds * 1000)) }

    func query(_ wire: [UInt8], client: String = "client", transport: Transport = .udp, at seconds: Double = 0) -> [Action] {
        wire.withUnsafeBytes { forwarder.handleQuery($0, from: client, transport: transport, now: at(seconds)) }
    }

    func reply(_ wire: [UInt8], token: UInt64, at seconds: Double = 0) -> [Action] {
        wire.withUnsafeBytes { forwarder.handleUpstreamReply($0, token: token, now: at(seconds)) }
    }

    static func sent(_ actions: [Action]) -> (token: UInt64, upstream: Int, bytes: [UInt8], transport: Transport)? {
        request(actions).map { ($0.token, $0.upstream, $0.bytes, $0.transport) }
    }

    static func request(_ actions: [Action]) -> UpstreamRequest? {
        for case .sendUpstream(let request) in actions { return request }
        return nil
    }

    static func replies(_ actions: [Action]) -> [(client: String, bytes: [UInt8], code: DNSResponseCode, source: AnswerSource)] {
        actions.compactMap {
            if case .reply(let client, let bytes, let details) = $0 { return (client, bytes, details.code, details.source) }
            return nil
        }
    }

    static func closes(_ actions: [Action], _ token: UInt64) -> Bool {
        actions.contains { if case .closeUpstream(token) = $0 { true } else { false } }
    }
}

/// TTL of the first answer record of a reply built by WireFixtures.response.
func firstAnswerTTL(_ wire: [UInt8], questionName: String) -> UInt32 {
    let offset = 12 + WireFixtures.name(questionName).count + 4 + 2 + 4
    return UInt32(wire[offset]) << 24 | UInt32(wire[offset + 1]) << 16 | UInt32(wire[offset + 2]) << 8 | UInt32(wire[offset + 3])
}

@Suite("Forwarder: upstream path")
struct ForwarderUpstreamTests {
    typealias H = ForwarderHarness

    @Test func upstreamQueryHasFreshIDClientQuestionAndOurOPT() throws {
        let lab = H()
        let wire = WireFixtures.query(id: 0x1111, name: "Example.test", flags: 0x0110, ednsSize: 4096)
        let sent = try #require(H.sent(lab.query(wire)))
        #expect(sent.upstream == 0)
        #expect(sent.transport == .udp)
        let header = WireFixtures.header(sent.bytes)
        #expect(header.id == 0x4000)
        #expect(header.flags == 0x0110, "RD and CD copied")
        #expect(header.ar == 1)
        let question = WireFixtures.name("Example.test") + [0, 1, 0, 1]
        #expect(Array(sent.bytes[12..<(12 + question.count)]) == question, "client's letter case kept")
        #expect(Array(sent.bytes[(12 + question.count)...]) == WireFixtures.opt(udpSize: 1232))
        #expect(lab.forwarder.inFlightCount == 1)
    }

    @Test func upstreamRequestCarriesTheIDItsBytesStartWith() throws {
        let lab = H(upstreams: 2, firstID: 0xBEEF)
        let request = try #require(H.request(lab.query(WireFixtures.query(id: 0x1111, name: "example.test"))))
        #expect(request.id == 0xBEEF)
        #expect(WireFixtures.header(request.bytes).id == request.id)
        #expect(request.upstream == 0)
        #expect(request.transport == .udp)
        // The next attempt (after a timeout) has a fresh ID, again in both places.
        let next = try #require(H.request(lab.forwarder.expire(now: lab.at(2.5))))
        #expect(next.id == 0xBEF0)
        #expect(WireFixtures.header(next.bytes).id == next.id)
        #expect(next.upstream == 1)
        #expect(next.token != request.token)
    }

    @Test func matchingReplyGoesBackWithClientIDAndWithoutOPTForAPlainClient() throws {
        let lab = H()
        let sent = try #require(H.sent(lab.query(WireFixtures.query(id: 0x1111, name: "example.test"))))
        let answer = WireFixtures.response(id: 0x4000, name: "example.test", answers: [[198, 51, 100, 80]], flags: 0x8500, ednsSize: 1232)
        let actions = lab.reply(answer, token: sent.token)
        let out = try #require(H.replies(actions).first)
        #expect(out.client == "client")
        #expect(out.source == .upstream(0))
        let header = WireFixtures.header(out.bytes)
        #expect(header.id == 0x1111)
        #expect(header.flags == 0x8180, "AA cleared, RA set, RD as the client asked")
        #expect(header.ar == 0, "no OPT for a client that sent none")
        #expect(out.bytes.count == answer.count - 11)
        #expect(H.closes(actions, sent.token))
        #expect(lab.forwarder.inFlightCount == 0)
        #expect(lab.reply(answer, token: sent.token).isEmpty, "a duplicate finds nothing pending")
    }

    @Test("spoofed or broken replies are dropped and the query keeps waiting", arguments: [
        ("wrong ID", WireFixtures.response(id: 0x4001, name: "example.test", answers: [[192, 0, 2, 66]])),
        ("wrong name", WireFixtures.response(id: 0x4000, name: "evil.test", answers: [[192, 0, 2, 66]])),
        ("wrong type", WireFixtures.response(id: 0x4000, name: "example.test", type: 28)),
        ("not a response", WireFixtures.query(id: 0x4000, name: "example.test")),
        ("short", [0x40, 0x00, 0x81]),
        ("truncated record", Array(WireFixtures.response(id: 0x4000, name: "example.test", answers: [[1, 2, 3, 4]]).dropLast(2))),
        ("trailing junk", WireFixtures.response(id: 0x4000, name: "example.test", answers: [[1, 2, 3, 4]]) + [0xDE, 0xAD]),
        ("garbage after a good header", [0x40, 0x00, 0x81, 0x80, 0, 1, 0, 1, 0, 0, 0, 0, 0xFF, 0xFF, 0xFF]),
    ])
    func rejectsBadReplies(label: String, bad: [UInt8]) throws {
        let lab = H()
        let sent = try #require(H.sent(lab.query(WireFixtures.query(id: 2, name: "example.test"))))
        #expect(lab.reply(bad, token: sent.token).isEmpty, "\(label)")
        #expect(lab.forwarder.counters.rejectedReplies == 1)
        #expect(lab.forwarder.inFlightCount == 1)
        #expect(lab.forwarder.cache.count == 0, "nothing poisoned")
        let good = WireFixtures.response(id: 0x4000, name: "example.test", answers: [[198, 51, 100, 80]])
        #expect(H.replies(lab.reply(good, token: sent.token)).count == 1)
    }

    @Test func timeoutTriesNextUpstreamThenServfails() throws {
        let lab = H(upstreams: 2)
        let wire = WireFixtures.query(id: 0x2222, name: "example.test", ednsSize: 4096)
        let first = try #require(H.sent(lab.query(wire)))
        #expect(lab.forwarder.nextDeadline == lab.at(2))
        #expect(lab.forwarder.expire(now: lab.at(1.999)).isEmpty)

        let retry = lab.forwarder.expire(now: lab.at(2))
        #expect(H.closes(retry, first.token))
        let second = try #require(H.sent(retry))
        #expect(second.upstream == 1)
        #expect(WireFixtures.header(second.bytes).id == 0x4001)
        #expect(lab.reply(WireFixtures.response(id: 0x4000, name: "example.test"), token: first.token).isEmpty,
                "a late answer to the abandoned attempt is ignored")

        let out = try #require(H.replies(lab.forwarder.expire(now: lab.at(4))).first)
        #expect(out.code == .serverFailure)
        let header = WireFixtures.header(out.bytes)
        #expect(header.id == 0x2222)
        #expect(header.flags & 0x800F == 0x8002)
        #expect(header.qd == 1)
        #expect(header.ar == 1, "OPT echoed because the query had EDNS")
        #expect(lab.forwarder.inFlightCount == 0)
        #expect(lab.forwarder.counters.timeouts == 2)
        // The failure is remembered briefly (RFC 9520) so clients retrying don't hammer upstreams.
        let again = lab.query(WireFixtures.query(id: 0x2223, name: "example.test", ednsSize: 4096), at: 5)
        #expect(H.sent(again) == nil)
        #expect(H.replies(again).first?.code == .serverFailure)
        #expect(H.replies(again).first?.source == .cache)
        #expect(H.sent(lab.query(WireFixtures.query(id: 0x2224, name: "example.test", ednsSize: 4096), at: 9.1)) != nil)
    }

    @Test func socketErrorFailsOverImmediately() throws {
        let lab = H(upstreams: 3)
        let first = try #require(H.sent(lab.query(WireFixtures.query(id: 3, name: "example.test"))))
        let second = try #require(H.sent(lab.forwarder.handleUpstreamFailure(token: first.token, now: lab.at(0))))
        #expect(second.upstream == 1)
        let third = try #require(H.sent(lab.forwarder.handleUpstreamFailure(token: second.token, now: lab.at(0))))
        #expect(third.upstream == 2)
        let out = try #require(H.replies(lab.forwarder.handleUpstreamFailure(token: third.token, now: lab.at(0))).first)
        #expect(out.code == .serverFailure)
        #expect(lab.forwarder.handleUpstreamFailure(token: third.token, now: lab.at(0)).isEmpty)
    }

    @Test func servfailFromOneUpstreamTriesTheNext() throws {
        let lab = H(upstreams: 2)
        let first = try #require(H.sent(lab.query(WireFixtures.query(id: 4, name: "example.test"))))
        let next = lab.reply(WireFixtures.response(id: 0x4000, name: "example.test", rcode: 2), token: first.token)
        let second = try #require(H.sent(next))
        #expect(second.upstream == 1)
        let out = try #require(H.replies(lab.reply(WireFixtures.response(id: 0x4001, name: "example.test", answers: [[1, 2, 3, 4]]),
                                                   token: second.token)).first)
        #expect(out.code == .noError)
    }

    @Test func truncatedUDPReplyIsRetriedOverTCPToTheSameUpstream() throws {
        let lab = H(upstreams: 2)
        let first = try #require(H.sent(lab.query(WireFixtures.query(id: 5, name: "big.example.test", type: 16), client: "tcp-client",
                                                  transport: .tcp)))
        let tc = WireFixtures.response(id: 0x4000, name: "big.example.test", type: 16, flags: 0x8380)
        let retry = try #require(H.sent(lab.reply(tc, token: first.token)))
        #expect(retry.transport == .tcp)
        #expect(retry.upstream == 0)
        let txt = [UInt8(199)] + Array(repeating: UInt8(ascii: "x"), count: 199)
        let big = WireFixtures.response(id: 0x4001, name: "big.example.test", type: 16, answers: Array(repeating: txt, count: 8))
        let out = try #require(H.replies(lab.reply(big, token: retry.token)).first)
        #expect(out.bytes.count == big.count, "TCP clients get the whole answer")
        #expect(lab.forwarder.counters.tcpRetries == 1)
    }

    @Test func overloadAnswersServfailInsteadOfQueueing() throws {
        let lab = H(maximumInFlight: 2)
        // Three clients: one client alone would meet its quota (a quarter) first.
        _ = lab.query(WireFixtures.query(id: 1, name: "a.test"), client: "a")
        _ = lab.query(WireFixtures.query(id: 2, name: "b.test"), client: "b")
        let actions = lab.query(WireFixtures.query(id: 3, name: "c.test"), client: "c")
        #expect(H.sent(actions) == nil)
        #expect(H.replies(actions).first?.code == .serverFailure)
        #expect(lab.forwarder.counters.overloaded == 1)
    }

    @Test func replyLargerThanClientBufferIsTruncated() throws {
        let lab = H()
        let sent = try #require(H.sent(lab.query(WireFixtures.query(id: 5, name: "big.example.test", type: 16))))
        let txt = [UInt8(19)] + Array(repeating: UInt8(ascii: "x"), count: 19)
        let big = WireFixtures.response(id: 0x4000, name: "big.example.test", type: 16, answers: Array(repeating: txt, count: 40))
        #expect(big.count > 512)
        let out = try #require(H.replies(lab.reply(big, token: sent.token)).first)
        let header = WireFixtures.header(out.bytes)
        #expect(out.bytes.count <= 512)
        #expect(header.id == 5)
        #expect(header.flags & 0x0200 != 0, "TC set")
        #expect(header.qd == 1 && header.an == 0)
    }

    @Test func clientQueryErrorsNeverReachUpstream() {
        let lab = H()
        let actions = lab.query(WireFixtures.query(id: 6, name: "example.test", flags: 4 << 11))
        #expect(H.sent(actions) == nil)
        #expect(H.replies(actions).first?.code == .notImplemented)
        #expect(lab.query([1, 2, 3]).isEmpty)
    }
}

@Suite("Forwarder: upstream health")
struct UpstreamHealthTests {
    typealias H = ForwarderHarness

    @Test func upstreamMarkedDownAfterThreeFailuresThenProbedBackUp() throws {
        let lab = H(upstreams: 2)
        for round in 0..<3 {
            let sent = try #require(H.sent(lab.query(WireFixtures.query(id: UInt16(round), name: "n\(round).test"))))
            #expect(sent.upstream == 0)
            let next = try #require(H.sent(lab.forwarder.handleUpstreamFailure(token: sent.token, now: lab.at(0))))
            _ = lab.reply(WireFixtures.response(id: WireFixtures.header(next.bytes).id, name: "n\(round).test",
                                                answers: [[1, 1, 1, 1]]), token: next.token)
        }
        #expect(lab.forwarder.upstreamHealth[0].isDown)
        // New queries go to the healthy upstream first.
        let fresh = try #require(H.sent(lab.query(WireFixtures.query(id: 9, name: "fresh.test"))))
        #expect(fresh.upstream == 1)
        _ = lab.reply(WireFixtures.response(id: WireFixtures.header(fresh.bytes).id, name: "fresh.test", answers: [[1, 1, 1, 1]]),
                      token: fresh.token)
        // After the probe interval, a probe for ". NS" goes to the down upstream.
        let probe = try #require(H.sent(lab.forwarder.expire(now: lab.at(5))))
        #expect(probe.upstream == 0)
        let probeID = WireFixtures.header(probe.bytes).id
        let refused = WireFixtures.word(probeID) + WireFixtures.word(0x8005) + WireFixtures.word(1) + [0, 0, 0, 0, 0, 0]
            + [0] + WireFixtures.word(2) + WireFixtures.word(1)
        #expect(H.replies(lab.reply(refused, token: probe.token)).isEmpty, "probes answer nobody")
        #expect(!lab.forwarder.upstreamHealth[0].isDown, "any valid reply, even REFUSED, shows it is alive")
        #expect(H.sent(lab.query(WireFixtures.query(id: 10, name: "later.test"), at: 6))?.upstream == 0)
    }

    // A reply to a query from before an outage must not flip a down upstream up (and down again): log flapping.
    @Test func lateReplyToAnEarlierQueryDoesNotBringADownUpstreamBack() throws {
        let lab = H(upstreams: 2)
        let late = try #require(H.sent(lab.query(WireFixtures.query(id: 99, name: "late.test"), at: 0)))
        #expect(late.upstream == 0)
        for round in 0..<3 {
            let sent = try #require(H.sent(lab.query(WireFixtures.query(id: UInt16(round), name: "n\(round).test"), at: 0.5)))
            let next = try #require(H.sent(lab.forwarder.handleUpstreamFailure(token: sent.token, now: lab.at(0.5))))
            _ = lab.reply(WireFixtures.response(id: WireFixtures.header(next.bytes).id, name: "n\(round).test",
                                                answers: [[1, 1, 1, 1]]), token: next.token, at: 0.5)
        }
        #expect(lab.forwarder.upstreamHealth[0].isDown)
        let answered = lab.reply(WireFixtures.response(id: WireFixtures.header(late.bytes).id, name: "late.test",
                                                       answers: [[1, 1, 1, 1]]), token: late.token, at: 1)
        #expect(H.replies(answered).map(\.code) == [.noError], "the client still gets the answer")
        #expect(lab.forwarder.upstreamHealth[0].isDown, "sent before the outage: says nothing about now")
        let probe = try #require(H.sent(lab.forwarder.expire(now: lab.at(5.5))))
        #expect(probe.upstream == 0)
        let refused = WireFixtures.word(WireFixtures.header(probe.bytes).id) + WireFixtures.word(0x8005) + WireFixtures.word(1)
            + [0, 0, 0, 0, 0, 0] + [0] + WireFixtures.word(2) + WireFixtures.word(1)
        _ = lab.reply(refused, token: probe.token, at: 5.6)
        #expect(!lab.forwarder.upstreamHealth[0].isDown, "a probe sent while down brings it back")
    }

    @Test func fastestPolicyPrefersTheLowerRTT() throws {
        let lab = H(upstreams: 2, policy: .fastest)
        // Both unmeasured: index order. Upstream 0 answers slowly, 1 quickly.
        let a = try #require(H.sent(lab.query(WireFixtures.query(id: 1, name: "a.test"))))
        #expect(a.upstream == 0)
        _ = lab.reply(WireFixtures.response(id: WireFixtures.header(a.bytes).id, name: "a.test", answers: [[1, 1, 1, 1]]),
                      token: a.token, at: 0.5)
        let b = try #require(H.sent(lab.query(WireFixtures.query(id: 2, name: "b.test"), at: 1)))
        #expect(b.upstream == 1, "unmeasured upstreams are tried to get a measurement")
        _ = lab.reply(WireFixtures.response(id: WireFixtures.header(b.bytes).id, name: "b.test", answers: [[1, 1, 1, 1]]),
                      token: b.token, at: 1.01)
        #expect(H.sent(lab.query(WireFixtures.query(id: 3, name: "c.test"), at: 2))?.upstream == 1)
    }
}
