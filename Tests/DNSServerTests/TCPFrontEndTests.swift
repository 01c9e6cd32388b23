import DNSForward
import Glibc
import Logging
import RawUDP
import Testing
@testable import DNSServer

/// A primary loop's TCP side without root: a loopback listener, the real
/// pipeline, forwarder and transport, and a fake upstream on loopback UDP.
final class TCPLab: LoopBench {
    let loop: EventLoop
    let upstream: FakeUpstream
    let pipeline: QueryPipeline
    let tcp: TCPFrontEnd
    let port: UInt16
    private let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 65_536, alignment: 8)

    init(limits: TCPFrontEnd.Limits = .init(maximumConnections: 8, maximumOutstanding: 64, idleTimeout: .seconds(10))) throws {
        loop = try EventLoop()
        upstream = try FakeUpstream(type: Int32(SOCK_DGRAM.rawValue))
        let logger = Logger(label: "test")
        let forwarder = Forwarder<ClientContext>(configuration: ForwarderConfiguration(upstreamNames: ["\(upstream.endpoint)"]),
                                                 logger: logger)
        let transport = UpstreamTransport(upstreams: [upstream.endpoint], socketsPerUpstream: 1, queriesPerSocket: 100,
                                          loop: loop, readBuffer: buffer, logger: logger)
        pipeline = QueryPipeline(forwarder: forwarder, transport: transport,
                                 udpReplies: try UDPReplySender(path: .socketPerSource, mark: nil, sourceSockets: nil,
                                                                                warnings: RateLimitedLogger(logger: logger)),
                                 answers: AnswerRecorder(queryLog: nil, upstreamNames: ["\(upstream.endpoint)"], logger: logger))
        transport.receiver = pipeline
        let listener = try TCPListener(endpoint: IPEndpoint("127.0.0.1:0", defaultPort: 0)!)
        port = boundPort(of: listener.socket.rawValue)
        tcp = try TCPFrontEnd(listener: listener, loop: loop, pipeline: pipeline,
                              admission: AdmissionGate(ClientAdmission(allowed: [IPPrefix("127.0.0.0/8")!], refusedAction: .refuse,
                                                                       rateLimit: nil)),
                              limits: limits, readBuffer: buffer,
                              warnings: RateLimitedLogger(logger: logger))
    }

    deinit { buffer.deallocate() }

    /// Turns the loop as the server does (a turn, then the round's flushes) until `done`, 2 s at most.
    func run(until done: () -> Bool) throws {
        let deadline = MonotonicInstant.now + .seconds(2)
        while !done(), MonotonicInstant.now < deadline {
            try loop.turn(timeoutMilliseconds: 20)
            pipeline.endRound(now: .now)
        }
    }

    /// Turns the loop for `duration`, whatever happens.
    func run(for duration: Duration) throws {
        let end = MonotonicInstant.now + duration
        try run { MonotonicInstant.now >= end }
    }

    /// Answers every query the fake upstream has received (none waiting: returns at once).
    func answerUpstreamQueries(expecting count: Int) -> [[UInt8]] {
        var queries: [[UInt8]] = []
        while queries.count < count, let (query, from) = upstream.receive() {
            upstream.send(TestMessages.reply(to: query), to: from)
            queries.append(query)
        }
        return queries
    }
}

@Suite("TCP front end")
struct TCPFrontEndTests {
    @Test func pipelinedQueriesAreForwardedAndAnsweredOnTheConnection() throws {
        let lab = try TCPLab()
        let client = try LoopbackTCPClient(port: lab.port)
        client.send(framed: TestMessages.query(id: 0xAAAA, name: "one.example.test"))
        client.send(framed: TestMessages.query(id: 0xBBBB, name: "two.example.test"))
        try lab.run { lab.tcp.connectionCount == 1 && lab.pipeline.forwarder.inFlightCount == 2 }
        #expect(lab.answerUpstreamQueries(expecting: 2).count == 2)
        var received: [UInt8] = []
        try lab.run {
            received += client.receiveAvailable() ?? []
            return received.count >= 4 && framedMessages(in: received).count == 2
        }
        let ids = Set(framedMessages(in: received).map { UInt16($0[0]) << 8 | UInt16($0[1]) })
        #expect(ids == [0xAAAA, 0xBBBB])
        #expect(lab.pipeline.forwarder.counters.answeredFromUpstream == 2)
        #expect(lab.tcp.connectionCount == 1, "the connection stays open for more queries")
    }

    @Test func aResponseInsteadOfAQueryClosesTheConnection() throws {
        let lab = try TCPLab()
        let client = try LoopbackTCPClient(port: lab.port)
        client.send(framed: TestMessages.reply(to: TestMessages.query(id: 1, name: "x.example.test")))
        #expect(try lab.waitUntilClosed(client))
        #expect(lab.tcp.connectionCount == 0)
        #expect(lab.pipeline.forwarder.counters.queries == 0)
    }

    @Test func aFullTableEvictsTheIdleConnectionForTheNewOne() throws {
        let lab = try TCPLab(limits: .init(maximumConnections: 1, maximumOutstanding: 64, idleTimeout: .seconds(10)))
        let first = try LoopbackTCPClient(port: lab.port)
        try lab.run { lab.tcp.connectionCount == 1 }
        let second = try LoopbackTCPClient(port: lab.port)
        #expect(try lab.waitUntilClosed(first), "the idle first connection made room")
        #expect(lab.tcp.evictedConnections == 1)
        #expect(lab.tcp.rejectedConnections == 0)
        #expect(second.receiveAvailable() == [], "the newcomer stays open")
        #expect(lab.tcp.connectionCount == 1)
    }

    @Test func idleConnectionsAreClosedByTheServer() throws {
        let lab = try TCPLab()
        let client = try LoopbackTCPClient(port: lab.port)
        try lab.run { lab.tcp.connectionCount == 1 }
        lab.tcp.closeIdle(now: .now + .seconds(5))
        #expect(lab.tcp.connectionCount == 1)
        lab.tcp.closeIdle(now: .now + .seconds(11))
        #expect(lab.tcp.connectionCount == 0)
        #expect(client.receiveAvailable() == nil)
    }
}

/// The complete messages in a TCP byte stream.
private func framedMessages(in bytes: [UInt8]) -> [[UInt8]] {
    var framer = DNSStreamFramer()
    bytes.withUnsafeBytes { framer.append($0) }
    var messages: [[UInt8]] = []
    while let message = framer.nextMessage() { messages.append(message) }
    return messages
}

