import Testing
@testable import DNSForward

/// RFC 4035 3.2.2: the CD bit of a reply is the query's, on every path: a
/// reply fresh from upstream, one from the cache (fast path and not), an
/// error the daemon makes itself.
@Suite("CD copied into every reply")
struct CheckingDisabledTests {
    typealias H = ForwarderHarness
    typealias W = WireFixtures

    static let cdQuery = W.query(id: 0x1111, name: "cd.test", flags: 0x0110)

    /// An upstream that clears CD in its reply (as the lab's knotd does).
    private func primeWithoutCD(_ lab: H, query: [UInt8]) throws -> [UInt8] {
        let sent = try #require(H.sent(lab.query(query)))
        #expect(W.header(sent.bytes).flags & 0x0010 != 0, "CD passed on upstream")
        let answer = W.response(id: W.header(sent.bytes).id, name: "cd.test", answers: [[192, 0, 2, 7]], flags: 0x8180)
        return try #require(H.replies(lab.reply(answer, token: sent.token)).first).bytes
    }

    @Test func upstreamReplyGetsTheClientsCD() throws {
        let lab = H()
        let reply = try primeWithoutCD(lab, query: Self.cdQuery)
        #expect(W.header(reply).flags & 0x0010 != 0)
    }

    @Test func cachedAnswerGetsTheClientsCDOnBothPaths() throws {
        let lab = H()
        _ = try primeWithoutCD(lab, query: Self.cdQuery)
        let slow = try #require(H.replies(lab.query(W.query(id: 0x2222, name: "cd.test", flags: 0x0110), at: 1)).first)
        #expect(slow.source == .cache)
        #expect(W.header(slow.bytes).flags & 0x0010 != 0)
        var out = [UInt8](repeating: 0, count: 512)
        let fast = W.query(id: 0x3333, name: "cd.test", flags: 0x0110).withUnsafeBytes { query in
            out.withUnsafeMutableBytes { lab.forwarder.answerFromCache(query, now: lab.at(1), into: $0) }
        }
        let length = try #require(fast?.length)
        #expect(W.header(Array(out[..<length])).flags & 0x0010 != 0)
    }

    @Test func cdFromAnUpstreamIsNotGivenToAClientWithoutIt() throws {
        let lab = H()
        let sent = try #require(H.sent(lab.query(W.query(id: 1, name: "cd.test"))))
        let answer = W.response(id: W.header(sent.bytes).id, name: "cd.test", answers: [[192, 0, 2, 7]], flags: 0x8190)
        let reply = try #require(H.replies(lab.reply(answer, token: sent.token)).first).bytes
        #expect(W.header(reply).flags & 0x0010 == 0)
    }

    @Test func daemonErrorsCopyCD() throws {
        let lab = H(upstreams: 1, maximumInFlight: 0)
        let overloaded = try #require(H.replies(lab.query(Self.cdQuery)).first)
        #expect(overloaded.code == .serverFailure)
        #expect(W.header(overloaded.bytes).flags & 0x0010 != 0)
        let notify = try #require(H.replies(lab.query(W.query(id: 5, name: "cd.test", flags: 0x2010))).first)
        #expect(notify.code == .notImplemented)
        #expect(W.header(notify.bytes).flags & 0x0010 != 0)
    }
}
