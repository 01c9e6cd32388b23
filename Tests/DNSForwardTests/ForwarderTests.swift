import Logging
import Testing
@testable import DNSForward

@Suite("Forwarder state machine")
struct ForwarderTests {
    typealias Action = ForwarderAction<String>

    /// IDs handed out in order, so tests know what the upstream must echo.
    final class SequentialIDs {
        var next: UInt16
        init(start: UInt16) { next = start }
        func take() -> UInt16 { defer { next &+= 1 }; return next }
    }

    private func makeForwarder(upstreams: Int = 1, maximumInFlight: Int = 100, firstID: UInt16 = 0x4000) -> Forwarder<String> {
        let ids = SequentialIDs(start: firstID)
        return Forwarder(configuration: ForwarderConfiguration(upstreamCount: upstreams, upstreamTimeout: .seconds(2),
                                                               maximumInFlight: maximumInFlight),
                         logger: Logger(label: "test"), makeID: { ids.take() })
    }

    private func query(_ forwarder: Forwarder<String>, _ wire: [UInt8], client: String = "client", now: ContinuousClock.Instant) -> [Action] {
        wire.withUnsafeBytes { forwarder.handleQuery($0, from: client, now: now) }
    }

    private func reply(_ forwarder: Forwarder<String>, _ wire: [UInt8], token: UInt64) -> [Action] {
        wire.withUnsafeBytes { forwarder.handleUpstreamReply($0, token: token) }
    }

    private func sent(_ actions: [Action]) -> (token: UInt64, upstream: Int, bytes: [UInt8])? {
        for case .sendUpstream(let token, let upstream, let bytes) in actions { return (token, upstream, bytes) }
        return nil
    }

    private func replied(_ actions: [Action]) -> (client: String, bytes: [UInt8], code: DNSResponseCode)? {
        for case .reply(let client, let bytes, let code, _) in actions { return (client, bytes, code) }
        return nil
    }

    @Test func forwardsWithFreshIDAndOtherwiseIdenticalBytes() throws {
        let forwarder = makeForwarder()
        let wire = WireFixtures.query(id: 0x1111, name: "Example.test", ednsSize: 1232)
        let upstream = try #require(sent(query(forwarder, wire, now: .now)))
        #expect(upstream.upstream == 0)
        #expect(WireFixtures.header(upstream.bytes).id == 0x4000)
        #expect(Array(upstream.bytes[2...]) == Array(wire[2...]))
        #expect(forwarder.inFlight == 1)
    }

    @Test func matchingReplyGoesBackWithClientID() throws {
        let forwarder = makeForwarder()
        let upstream = try #require(sent(query(forwarder, WireFixtures.query(id: 0x1111, name: "example.test"), now: .now)))
        let answer = WireFixtures.response(id: 0x4000, name: "example.test", answers: [[198, 51, 100, 80]])
        let actions = reply(forwarder, answer, token: upstream.token)
        let out = try #require(replied(actions))
        #expect(out.client == "client")
        #expect(WireFixtures.header(out.bytes).id == 0x1111)
        #expect(Array(out.bytes[2...]) == Array(answer[2...]))
        #expect(actions.contains { if case .closeUpstream(upstream.token) = $0 { true } else { false } })
        #expect(forwarder.inFlight == 0)
        // A second copy of the answer (a duplicate or a spoof racing it) finds nothing pending.
        #expect(reply(forwarder, answer, token: upstream.token).isEmpty)
    }

    @Test func questionCaseDifferenceIsStillTheSameQuestion() throws {
        let forwarder = makeForwarder()
        let upstream = try #require(sent(query(forwarder, WireFixtures.query(id: 1, name: "EXAMPLE.test"), now: .now)))
        let answer = WireFixtures.response(id: 0x4000, name: "example.TEST", answers: [[198, 51, 100, 80]])
        #expect(replied(reply(forwarder, answer, token: upstream.token)) != nil)
    }

    @Test("spoofed or broken replies are dropped and the query keeps waiting", arguments: [
        ("wrong ID", WireFixtures.response(id: 0x4001, name: "example.test", answers: [[192, 0, 2, 66]])),
        ("wrong name", WireFixtures.response(id: 0x4000, name: "evil.test", answers: [[192, 0, 2, 66]])),
        ("wrong type", WireFixtures.response(id: 0x4000, name: "example.test", type: 28)),
        ("not a response", WireFixtures.query(id: 0x4000, name: "example.test")),
        ("short", [0x40, 0x00, 0x81]),
        ("truncated record", Array(WireFixtures.response(id: 0x4000, name: "example.test", answers: [[1, 2, 3, 4]]).dropLast(2))),
        ("garbage after a good header", [0x40, 0x00, 0x81, 0x80, 0, 1, 0, 1, 0, 0, 0, 0, 0xFF, 0xFF, 0xFF]),
    ])
    func rejectsBadReplies(label: String, bad: [UInt8]) throws {
        let forwarder = makeForwarder()
        let upstream = try #require(sent(query(forwarder, WireFixtures.query(id: 2, name: "example.test"), now: .now)))
        #expect(reply(forwarder, bad, token: upstream.token).isEmpty, "\(label)")
        #expect(forwarder.counters.rejectedReplies == 1)
        #expect(forwarder.inFlight == 1)
        let good = WireFixtures.response(id: 0x4000, name: "example.test", answers: [[198, 51, 100, 80]])
        #expect(replied(reply(forwarder, good, token: upstream.token)) != nil)
    }

    @Test func timeoutTriesNextUpstreamThenServfails() throws {
        let forwarder = makeForwarder(upstreams: 2)
        let start = ContinuousClock.now
        let wire = WireFixtures.query(id: 0x2222, name: "example.test", ednsSize: 4096)
        let first = try #require(sent(query(forwarder, wire, now: start)))
        #expect(forwarder.nextDeadline == start + .seconds(2))
        #expect(forwarder.expire(now: start + .milliseconds(1999)).isEmpty)

        let retry = forwarder.expire(now: start + .seconds(2))
        #expect(retry.contains { if case .closeUpstream(first.token) = $0 { true } else { false } })
        let second = try #require(sent(retry))
        #expect(second.upstream == 1)
        #expect(second.token != first.token)
        #expect(WireFixtures.header(second.bytes).id == 0x4001)
        // A late answer to the abandoned attempt is ignored.
        let late = WireFixtures.response(id: 0x4000, name: "example.test")
        #expect(reply(forwarder, late, token: first.token).isEmpty)

        let failed = forwarder.expire(now: start + .seconds(4))
        let out = try #require(replied(failed))
        #expect(out.code == .serverFailure)
        let header = WireFixtures.header(out.bytes)
        #expect(header.id == 0x2222)
        #expect(header.flags & 0x800F == 0x8002)
        #expect(header.qd == 1)
        #expect(header.ar == 1, "OPT echoed because the query had EDNS")
        #expect(forwarder.inFlight == 0)
        #expect(forwarder.nextDeadline == nil)
        #expect(forwarder.counters.timeouts == 2)
    }

    @Test func socketErrorFailsOverImmediately() throws {
        let forwarder = makeForwarder(upstreams: 3)
        let now = ContinuousClock.now
        let first = try #require(sent(query(forwarder, WireFixtures.query(id: 3, name: "example.test"), now: now)))
        let second = try #require(sent(forwarder.handleUpstreamFailure(token: first.token, now: now)))
        #expect(second.upstream == 1)
        let third = try #require(sent(forwarder.handleUpstreamFailure(token: second.token, now: now)))
        #expect(third.upstream == 2)
        let out = try #require(replied(forwarder.handleUpstreamFailure(token: third.token, now: now)))
        #expect(out.code == .serverFailure)
        #expect(forwarder.handleUpstreamFailure(token: third.token, now: now).isEmpty)
    }

    @Test func overloadAnswersServfailInsteadOfQueueing() throws {
        let forwarder = makeForwarder(maximumInFlight: 2)
        let now = ContinuousClock.now
        _ = query(forwarder, WireFixtures.query(id: 1, name: "a.test"), now: now)
        _ = query(forwarder, WireFixtures.query(id: 2, name: "b.test"), now: now)
        let actions = query(forwarder, WireFixtures.query(id: 3, name: "c.test"), now: now)
        #expect(sent(actions) == nil)
        #expect(replied(actions)?.code == .serverFailure)
        #expect(forwarder.counters.overloaded == 1)
    }

    @Test func replyLargerThanClientBufferIsTruncated() throws {
        let forwarder = makeForwarder()
        let upstream = try #require(sent(query(forwarder, WireFixtures.query(id: 5, name: "big.example.test", type: 16), now: .now)))
        // 40 TXT records of 20 bytes each: far over the 512 bytes a client without EDNS accepts.
        let txt = [UInt8(19)] + Array(repeating: UInt8(ascii: "x"), count: 19)
        let big = WireFixtures.response(id: 0x4000, name: "big.example.test", type: 16, answers: Array(repeating: txt, count: 40))
        #expect(big.count > 512)
        let out = try #require(replied(reply(forwarder, big, token: upstream.token)))
        let header = WireFixtures.header(out.bytes)
        #expect(out.bytes.count <= 512)
        #expect(header.id == 5)
        #expect(header.flags & 0x0200 != 0, "TC set")
        #expect(header.qd == 1)
        #expect(header.an == 0)
    }

    @Test func clientQueryErrorsNeverReachUpstream() throws {
        let forwarder = makeForwarder()
        let notify = WireFixtures.query(id: 6, name: "example.test", flags: 4 << 11)
        let actions = query(forwarder, notify, now: .now)
        #expect(sent(actions) == nil)
        #expect(replied(actions)?.code == .notImplemented)
        #expect(query(forwarder, [1, 2, 3], now: .now).isEmpty)
    }
}
