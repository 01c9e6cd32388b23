import DNSForward
import Glibc
import Logging
import RawUDP
import Testing
@testable import DNSServer

/// What the transport reported, in order.
private final class RecordingReceiver: UpstreamOutcomeReceiver {
    var outcomes: [String] = []

    func deliver(_ outcome: UpstreamOutcome, now: ContinuousClock.Instant) {
        switch outcome {
        case .reply(let token, let wire): outcomes.append("reply \(token) \(wire.count)")
        case .failure(let token): outcomes.append("failure \(token)")
        case .unmatched(let reason): outcomes.append("unmatched \(reason)")
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
        let deadline = ContinuousClock.now + .seconds(2)
        while receiver.outcomes.count < count, ContinuousClock.now < deadline {
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
