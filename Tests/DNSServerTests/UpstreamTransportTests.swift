import DNSForward
import Glibc
import Logging
import RawUDP
import Testing
@testable import DNSServer

/// What the transport reported, in order.
private final class RecordingReceiver: UpstreamOutcomeReceiver {
    var outcomes: [String] = []

    func deliver(_ outcome: UpstreamOutcome, now: MonotonicInstant) {
        switch outcome {
        case .reply(let token, let wire): outcomes.append("reply \(token) \(wire.count)")
        case .failure(let token): outcomes.append("failure \(token)")
        case .unmatched(let reason): outcomes.append("unmatched \(reason)")
        case .forgedReplies(let tokens): outcomes.append("forged \(tokens.sorted())")
        }
    }
}

@Suite("Upstream transport")
struct UpstreamTransportTests {
    private let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 65_536, alignment: 8)

    private func transport(_ upstream: IPEndpoint, loop: EventLoop, receiver: RecordingReceiver) -> UpstreamTransport {
        let transport = UpstreamTransport(upstreams: [upstream], socketsPerUpstream: 2, queriesPerSocket: 100, loop: loop,
                                          readBuffer: buffer, logger: Logger(label: "test"))
        transport.receiver = receiver
        return transport
    }

    /// Turns the loop until `receiver` has heard `count` outcomes, two seconds at most.
    private func turn(_ loop: EventLoop, until count: Int, _ receiver: RecordingReceiver) throws {
        let deadline = MonotonicInstant.now + .seconds(2)
        while receiver.outcomes.count < count, MonotonicInstant.now < deadline {
            try loop.turn(timeoutMilliseconds: 100)
        }
    }

    @Test func aUDPQueryLeavesAtTheFlushAndItsReplyComesBackByID() throws {
        let upstream = try FakeUpstream(type: Int32(SOCK_DGRAM.rawValue))
        let loop = try EventLoop()
        let receiver = RecordingReceiver()
        let transport = transport(upstream.endpoint, loop: loop, receiver: receiver)
        let query = TestMessages.query(id: 0x1234, name: "www.example.test")
        #expect(transport.send(UpstreamRequest(token: 7, upstream: 0, id: 0x1234, bytes: query, transport: .udp)) == nil)
        #expect(transport.hasQueuedQueries)
        #expect(transport.flushQueries().isEmpty)
        transport.endRound()
        let received = try #require(upstream.receive())
        #expect(received.bytes == query)
        upstream.send([0x99, 0x99] + Array(TestMessages.reply(to: query).dropFirst(2)), to: received.from)
        upstream.send(TestMessages.reply(to: query), to: received.from)
        try turn(loop, until: 2, receiver)
        #expect(receiver.outcomes == ["unmatched no query with ID 39321 waits on this socket",
                                      "reply 7 \(TestMessages.reply(to: query).count)"])
        transport.close(token: 7)
        #expect(loop.registrationCount == 1, "the pooled socket stays open for the next queries")
        transport.closeAll()
        #expect(loop.registrationCount == 0)
    }

    @Test func aQueryWhoseAttemptEndedBeforeTheFlushIsNotSent() throws {
        let upstream = try FakeUpstream(type: Int32(SOCK_DGRAM.rawValue))
        let loop = try EventLoop()
        let transport = transport(upstream.endpoint, loop: loop, receiver: RecordingReceiver())
        let query = TestMessages.query(id: 1, name: "gone.example.test")
        _ = transport.send(UpstreamRequest(token: 1, upstream: 0, id: 1, bytes: query, transport: .udp))
        transport.close(token: 1)
        #expect(transport.flushQueries().isEmpty)
        var timeout = timeval(tv_sec: 0, tv_usec: 200_000)
        setsockopt(upstream.fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        #expect(upstream.receive() == nil)
    }

    // ICMP port unreachable comes back as ECONNREFUSED on the connected socket:
    // every query waiting there fails at once instead of timing out.
    @Test func aRefusingUpstreamFailsItsQueriesAtOnce() throws {
        let closedPort = try FakeUpstream(type: Int32(SOCK_DGRAM.rawValue)).endpoint // closed again at once
        let loop = try EventLoop()
        let receiver = RecordingReceiver()
        let transport = transport(closedPort, loop: loop, receiver: receiver)
        let query = TestMessages.query(id: 5, name: "www.example.test")
        _ = transport.send(UpstreamRequest(token: 5, upstream: 0, id: 5, bytes: query, transport: .udp))
        #expect(transport.flushQueries().isEmpty)
        try turn(loop, until: 1, receiver)
        #expect(receiver.outcomes == ["failure 5"])
    }

    @Test func aTCPRetryConnectsWritesTheFramedQueryAndReadsTheFramedReply() throws {
        let upstream = try FakeUpstream(type: Int32(SOCK_STREAM.rawValue))
        let loop = try EventLoop()
        let receiver = RecordingReceiver()
        let transport = transport(upstream.endpoint, loop: loop, receiver: receiver)
        let query = TestMessages.query(id: 9, name: "big.example.test")
        #expect(transport.send(UpstreamRequest(token: 9, upstream: 0, id: 9, bytes: query, transport: .tcp)) == nil)
        #expect(!transport.hasQueuedQueries, "TCP does not wait for the flush")
        try loop.turn(timeoutMilliseconds: 1000) // connected: the query is written
        let connection = accept(upstream.fd, nil, nil)
        defer { close(connection) }
        var framed = [UInt8](repeating: 0, count: 512)
        var timeout = timeval(tv_sec: 2, tv_usec: 0)
        setsockopt(connection, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        let count = recv(connection, &framed, framed.count, 0)
        #expect(Array(framed[..<count]) == [0, UInt8(query.count)] + query)
        let reply = TestMessages.reply(to: query)
        let out = [UInt8(reply.count >> 8), UInt8(reply.count & 0xFF)] + reply
        _ = Glibc.send(connection, out, out.count, 0)
        Glibc.shutdown(connection, Int32(SHUT_WR))
        try turn(loop, until: 1, receiver)
        #expect(receiver.outcomes == ["reply 9 \(reply.count)"])
        transport.close(token: 9)
        #expect(loop.registrationCount == 0)
    }
}

@Suite("Upstream forgery alarm")
struct UpstreamForgeryAlarmTests {
    private let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 65_536, alignment: 8)

    @Test func theAlarmFiresOnceAtTheThresholdWithinTheWindow() {
        var alarm = ForgeryAlarm()
        let start = MonotonicInstant.now
        let fired = (0..<ForgeryAlarm.threshold * 2).filter { alarm.record(now: start + .milliseconds($0 * 10)) }
        #expect(fired == [ForgeryAlarm.threshold - 1])
        // Spread out, the same count never fires.
        var slow = ForgeryAlarm()
        #expect((0..<50).allSatisfy { !slow.record(now: start + .milliseconds($0 * 200)) })
    }

    @Test func aFloodOfWrongIDsRetiresTheSocketAndHandsItsQueriesOver() throws {
        let upstream = try FakeUpstream(type: Int32(SOCK_DGRAM.rawValue))
        let loop = try EventLoop()
        let receiver = RecordingReceiver()
        let transport = UpstreamTransport(upstreams: [upstream.endpoint], socketsPerUpstream: 1, queriesPerSocket: 100, loop: loop,
                                          readBuffer: buffer, logger: Logger(label: "test"))
        transport.receiver = receiver
        let query = TestMessages.query(id: 0x1234, name: "www.example.test")
        _ = transport.send(UpstreamRequest(token: 7, upstream: 0, id: 0x1234, bytes: query, transport: .udp))
        _ = transport.flushQueries()
        transport.endRound()
        let received = try #require(upstream.receive())
        let firstPort = boundPort(of: transport.sockets.members.values.first!.socket.socket.rawValue)
        for forged in 0..<ForgeryAlarm.threshold {
            upstream.send([0x77, UInt8(forged)] + Array(TestMessages.reply(to: query).dropFirst(2)), to: received.from)
        }
        let deadline = MonotonicInstant.now + .seconds(2)
        while !receiver.outcomes.contains("forged [7]"), MonotonicInstant.now < deadline {
            try loop.turn(timeoutMilliseconds: 100)
        }
        #expect(receiver.outcomes.last == "forged [7]")
        #expect(receiver.outcomes.filter { $0.hasPrefix("unmatched") }.count == ForgeryAlarm.threshold)
        #expect(transport.socketsRetiredForForgery == 1)
        // The pipeline moves token 7 to TCP and closes it here: the socket goes with it.
        transport.close(token: 7)
        #expect(loop.registrationCount == 0)
        _ = transport.send(UpstreamRequest(token: 8, upstream: 0, id: 1, bytes: query, transport: .udp))
        let replacement = try #require(transport.sockets.members.values.first)
        #expect(boundPort(of: replacement.socket.socket.rawValue) != firstPort, "a new socket, a new random port")
        transport.closeAll()
    }

    @Test func forgedRepliesTheForwarderFindsCountTowardTheSameAlarm() throws {
        let upstream = try FakeUpstream(type: Int32(SOCK_DGRAM.rawValue))
        let loop = try EventLoop()
        let transport = UpstreamTransport(upstreams: [upstream.endpoint], socketsPerUpstream: 1, queriesPerSocket: 100, loop: loop,
                                          readBuffer: buffer, logger: Logger(label: "test"))
        let query = TestMessages.query(id: 1, name: "www.example.test")
        for token in 1...3 { _ = transport.send(UpstreamRequest(token: UInt64(token), upstream: 0, id: UInt16(token), bytes: query, transport: .udp)) }
        let now = MonotonicInstant.now
        let handedOver = (0..<ForgeryAlarm.threshold).map { _ in transport.recordForgedReply(token: 1, now: now) }
        let quietUntilTheLast = handedOver.dropLast().allSatisfy { $0.isEmpty }
        #expect(quietUntilTheLast)
        #expect(handedOver.last?.sorted() == [1, 2, 3])
        #expect(transport.recordForgedReply(token: 99, now: now).isEmpty, "an unknown token counts nowhere")
        transport.closeAll()
    }
}
