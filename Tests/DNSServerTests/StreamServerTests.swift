import DNSForward
import Logging
import RawUDP
import Testing
@testable import DNSServer

/// The metrics endpoint's StreamServer on loopback: its connection cap and its
/// whole-request deadline (the ways an idle-connection flood is held off).
@Suite("Stream server limits")
struct StreamServerTests {
    /// Never asked: these tests never complete a request.
    private final class NoTarget: ControlTarget {
        func stats(now: MonotonicInstant) -> DaemonStats { fatalError("not in this test") }
        func upstreamLatencies() -> [(address: String, histogram: LatencyHistogram)] { [] }
        func reloadZones() -> Result<LocalZones, ZoneReloadError> { fatalError("not in this test") }
        var cache: DNSCache { fatalError("not in this test") }
        func saveCache() -> Result<(ticket: Int, path: String), CacheSaveError> { fatalError("not in this test") }
        func upstreamName(_ index: Int) -> String { "" }
    }

    private final class Bench: LoopBench {
        let loop: EventLoop
        let target = NoTarget()
        let server: StreamServer<MetricsService>
        let port: UInt16
        private let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 65_536, alignment: 8)

        init(maximumConnections: Int) throws {
            loop = try EventLoop()
            let listener = try TCPListener(endpoint: IPEndpoint("127.0.0.1:0", defaultPort: 0)!)
            port = boundPort(of: listener.socket.rawValue)
            server = try StreamServer(listener: listener, service: MetricsService(target: target, readBuffer: buffer),
                                      loop: loop, maximumConnections: maximumConnections, reserve: .unlimited,
                                      warnings: RateLimitedLogger(logger: Logger(label: "test")))
        }

        deinit { buffer.deallocate() }

        func run(until done: () -> Bool) throws {
            let deadline = MonotonicInstant.now + .seconds(2)
            while !done(), MonotonicInstant.now < deadline { try loop.turn(timeoutMilliseconds: 20) }
        }
    }

    @Test func connectionsOverTheCapAreClosedAtAccept() throws {
        let bench = try Bench(maximumConnections: 2)
        let held = try (0..<2).map { _ in try LoopbackTCPClient(port: bench.port) }
        try bench.run { bench.server.connectionCount == 2 }
        let extra = try LoopbackTCPClient(port: bench.port)
        #expect(try bench.waitUntilClosed(extra))
        #expect(bench.server.refusedConnections == 1)
        #expect(bench.server.connectionCount == 2)
        #expect(held.allSatisfy { $0.receiveAvailable() == [] })
    }

    @Test func aRequestNotCompleteWithinFiveSecondsOfAcceptIsClosed() throws {
        let bench = try Bench(maximumConnections: 16)
        let accepted = MonotonicInstant.now
        let slow = try LoopbackTCPClient(port: bench.port)
        try bench.run { bench.server.connectionCount == 1 }
        slow.send(raw: Array("GET /metr".utf8))
        try bench.run { false }
        bench.server.closeIdle(now: accepted + .milliseconds(4_500))
        #expect(bench.server.connectionCount == 1, "still within its 5 s")
        bench.server.closeIdle(now: .now + .seconds(5))
        #expect(bench.server.connectionCount == 0, "bytes arriving do not extend the deadline")
        #expect(slow.receiveAvailable() == nil)
    }
}
