import DNSForward
import Testing
@testable import DNSServer

/// Slowloris through the real TCP front end on loopback: the message
/// deadline, the per-client cap, and eviction when the table is full.
@Suite("TCP front end against slow clients")
struct TCPSlowClientTests {
    private static func limits(connections: Int = 8, perClient: Int = 8) -> TCPFrontEnd.Limits {
        .init(maximumConnections: connections, maximumOutstanding: 64, idleTimeout: .seconds(10),
              messageTimeout: .seconds(2), maximumPerClient: perClient)
    }

    @Test func aMessageTrickledByteByByteIsClosedAtItsDeadline() throws {
        let lab = try TCPLab(limits: Self.limits())
        let client = try LoopbackTCPClient(port: lab.port)
        try lab.run { lab.tcp.connectionCount == 1 }
        let firstByte = MonotonicInstant.now
        client.send(raw: [0x00])
        try lab.run(for: .milliseconds(100))
        // A second byte a second later does not move the deadline.
        client.send(raw: [0x20])
        try lab.run(for: .milliseconds(100))
        lab.tcp.closeIdle(now: firstByte + .milliseconds(1_900))
        #expect(lab.tcp.connectionCount == 1, "before the deadline it stays")
        lab.tcp.closeIdle(now: firstByte + .milliseconds(2_300))
        #expect(lab.tcp.connectionCount == 0, "2 s after the first byte it is closed, later bytes or not")
        #expect(client.receiveAvailable() == nil)
    }

    @Test func aCompleteQueryStopsTheMessageClock() throws {
        let lab = try TCPLab(limits: Self.limits())
        let client = try LoopbackTCPClient(port: lab.port)
        client.send(framed: TestMessages.query(id: 0x1234, name: "whole.example.test"))
        try lab.run { lab.pipeline.forwarder.inFlightCount == 1 }
        lab.tcp.closeIdle(now: .now + .seconds(5))
        #expect(lab.tcp.connectionCount == 1, "only the idle timeout (10 s) applies between messages")
    }

    @Test func oneClientAddressHoldsAtMostItsShare() throws {
        let lab = try TCPLab(limits: Self.limits(perClient: 2))
        let held = try (0..<2).map { _ in try LoopbackTCPClient(port: lab.port) }
        try lab.run { lab.tcp.connectionCount == 2 }
        // Mid-message, both: nothing of the client's own to give up.
        for client in held { client.send(raw: [0x00]) }
        try lab.run(for: .milliseconds(50))
        let third = try LoopbackTCPClient(port: lab.port)
        #expect(try lab.waitUntilClosed(third))
        #expect(lab.tcp.rejectedConnections == 1)
        #expect(lab.tcp.evictedConnections == 0)
        #expect(held.allSatisfy { $0.receiveAvailable() == [] }, "the two held stay open")
    }

    @Test func aClientAtItsShareGivesUpItsOwnIdleConnection() throws {
        let lab = try TCPLab(limits: Self.limits(perClient: 2))
        let idle = try LoopbackTCPClient(port: lab.port)
        try lab.run { lab.tcp.connectionCount == 1 }
        try lab.run(for: .milliseconds(20))
        let busy = try LoopbackTCPClient(port: lab.port)
        busy.send(framed: TestMessages.query(id: 0x4444, name: "busy.example.test"))
        try lab.run { lab.pipeline.forwarder.inFlightCount == 1 }
        let third = try LoopbackTCPClient(port: lab.port)
        #expect(try lab.waitUntilClosed(idle), "the idle one made room")
        #expect(lab.tcp.rejectedConnections == 0)
        #expect(lab.tcp.evictedConnections == 1)
        #expect(lab.tcp.connectionCount == 2)
        #expect(busy.receiveAvailable() == [], "the one with a query being answered stays")
        #expect(third.receiveAvailable() == [])
    }

    /// A client that opens a connection per query (the conformance test's
    /// threads, many stubs) closes one and opens the next at once: both may
    /// be read in one wake-up, the accept before the close.
    @Test func aConnectionClosedButNotYetReadDoesNotCountAgainstTheNext() throws {
        let lab = try TCPLab(limits: Self.limits(perClient: 2))
        var first: LoopbackTCPClient? = try LoopbackTCPClient(port: lab.port)
        let second = try LoopbackTCPClient(port: lab.port)
        try lab.run { lab.tcp.connectionCount == 2 }
        _ = (first, second)
        // The connect is ready before the close: accept comes first.
        let next = try LoopbackTCPClient(port: lab.port)
        first = nil
        try lab.run(for: .milliseconds(100))
        #expect(lab.tcp.rejectedConnections == 0)
        #expect(lab.tcp.connectionCount == 2)
        #expect(next.receiveAvailable() == [], "the newcomer is served")
        #expect(second.receiveAvailable() == [])
    }

    @Test func theStalledConnectionIsEvictedBeforeTheOneBeingAnswered() throws {
        let lab = try TCPLab(limits: Self.limits(connections: 2))
        let busy = try LoopbackTCPClient(port: lab.port)
        busy.send(framed: TestMessages.query(id: 0x4242, name: "busy.example.test"))
        try lab.run { lab.pipeline.forwarder.inFlightCount == 1 }
        let stalled = try LoopbackTCPClient(port: lab.port)
        stalled.send(raw: [0x00])
        try lab.run { lab.tcp.connectionCount == 2 }
        try lab.run(for: .milliseconds(50))
        let newcomer = try LoopbackTCPClient(port: lab.port)
        #expect(try lab.waitUntilClosed(stalled), "the stalled one made room")
        #expect(lab.tcp.evictedConnections == 1)
        #expect(busy.receiveAvailable() == [], "the one with a query being answered stays")
        #expect(newcomer.receiveAvailable() == [])
    }

    @Test func aTableFullOfConnectionsBeingAnsweredRefusesTheNewOne() throws {
        let lab = try TCPLab(limits: Self.limits(connections: 1))
        let busy = try LoopbackTCPClient(port: lab.port)
        busy.send(framed: TestMessages.query(id: 0x4343, name: "busy.example.test"))
        try lab.run { lab.pipeline.forwarder.inFlightCount == 1 }
        let newcomer = try LoopbackTCPClient(port: lab.port)
        #expect(try lab.waitUntilClosed(newcomer))
        #expect(lab.tcp.rejectedConnections == 1)
        #expect(lab.tcp.evictedConnections == 0)
        #expect(busy.receiveAvailable() == [])
    }
}
