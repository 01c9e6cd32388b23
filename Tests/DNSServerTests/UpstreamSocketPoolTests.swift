import Glibc
import RawUDP
import Testing
@testable import DNSServer

@Suite("Upstream socket pool")
struct UpstreamSocketPoolTests {
    // Connecting a UDP socket needs no listener: the discard port will do.
    private let first = IPEndpoint("127.0.0.1:9", defaultPort: 53)!
    private let second = IPEndpoint("127.0.0.2:9", defaultPort: 53)!

    private func makePool(upstreams: Int = 1, sockets: Int, queries: Int, events: PoolEvents) -> UpstreamSocketPool {
        UpstreamSocketPool(
            upstreams: upstreams, socketsPerUpstream: sockets, queriesPerSocket: queries,
            didOpen: { member in
                if events.refuseNextOpen {
                    events.refuseNextOpen = false
                    throw RegistrationRefused(member: member.number)
                }
                events.opened.append(member.number)
            },
            willClose: { events.closed.append($0.number) })
    }

    private func token(_ id: UInt16) -> UInt64 { 1000 + UInt64(id) }

    /// Assigns each ID with its own token, each in a round of its own unless
    /// `oneRound`, and returns the member numbers.
    private func assign(_ pool: UpstreamSocketPool, ids: [UInt16], upstream: Int = 0, oneRound: Bool = false) throws -> [Int] {
        let numbers = try ids.map { id in
            let number = try pool.assign(token: token(id), id: id, upstream: upstream, remote: upstream == 0 ? first : second).number
            if !oneRound { pool.endRound() }
            return number
        }
        pool.endRound()
        return numbers
    }

    // The pool exists to stop paying socket+connect+epoll per query: reuse must really happen.
    @Test func fillsThePoolThenRotates() throws {
        let events = PoolEvents()
        let pool = makePool(upstreams: 2, sockets: 3, queries: 100, events: events)
        #expect(try assign(pool, ids: [1, 2, 3]) == [0, 1, 2])
        #expect(events.opened == [0, 1, 2])
        #expect(try assign(pool, ids: [4, 5, 6, 7, 8]) == [0, 1, 2, 0, 1])
        #expect(events.opened == [0, 1, 2], "a full pool opens nothing more")
        #expect(pool.members[0]?.pending == [1: token(1), 4: token(4), 7: token(7)])
        let elsewhere = try pool.assign(token: 9, id: 1, upstream: 1, remote: second)
        #expect(elsewhere.number == 3)
        #expect(elsewhere.upstream == 1)
        #expect(elsewhere.socket.remote == second)
        #expect(pool.openCount == 4)
        #expect(pool.socketsOpened == 4)
        #expect(events.closed == [])
    }

    // One round's queries share a socket, so they leave in one sendmmsg and their
    // replies arrive together; the next round moves on.
    @Test func queriesOfOneRoundShareASocketAndTheNextRoundMovesOn() throws {
        let events = PoolEvents()
        let pool = makePool(upstreams: 2, sockets: 3, queries: 100, events: events)
        #expect(try assign(pool, ids: [1, 2, 3]) == [0, 1, 2])
        #expect(try assign(pool, ids: [4, 5, 6], oneRound: true) == [0, 0, 0])
        #expect(try assign(pool, ids: [7, 8], oneRound: true) == [1, 1])
        #expect(try assign(pool, ids: [1, 2], oneRound: true) == [2, 2])
        // An ID already waiting on the round's socket goes to the next one.
        #expect(try assign(pool, ids: [9, 4, 10], oneRound: true) == [0, 1, 0])
        // A round that used no socket of an upstream leaves its rotation alone.
        #expect(try assign(pool, ids: [11], upstream: 1, oneRound: true) == [3])
        #expect(try assign(pool, ids: [12], oneRound: true) == [1])
        #expect(events.opened == [0, 1, 2, 3])
    }

    // Retiring is what moves to a fresh source port; closing early would lose replies still due.
    @Test func retiresAfterItsQueriesAndClosesWithTheLastReply() throws {
        let events = PoolEvents()
        let pool = makePool(sockets: 1, queries: 3, events: events)
        #expect(try assign(pool, ids: [1, 2, 3]) == [0, 0, 0])
        #expect(pool.members[0]?.isRetired == true)
        #expect(events.opened == [0], "the replacement opens on the next assignment, not before")
        #expect(try assign(pool, ids: [4, 5]) == [1, 1])
        #expect(events.opened == [0, 1])
        pool.release(member: 0, id: 1)
        pool.release(member: 0, id: 3)
        #expect(events.closed == [])
        #expect(pool.members[0]?.pending == [2: token(2)])
        pool.release(member: 0, id: 2)
        #expect(events.closed == [0])
        #expect(pool.members[0] == nil)
        #expect(pool.openCount == 1)
        pool.release(member: 0, id: 2)
        #expect(events.closed == [0], "a late release does not close twice")
    }

    // `queriesPerSocket` 1 must stay the old socket-per-query behaviour: a fresh port for every query.
    @Test func oneQueryPerSocketIsSocketPerQuery() throws {
        let events = PoolEvents()
        let pool = makePool(sockets: 4, queries: 1, events: events)
        let members = try (1...3).map { try pool.assign(token: $0, id: 7, upstream: 0, remote: first) }
        #expect(members.map(\.number) == [0, 1, 2])
        #expect(members.map(\.isRetired) == [true, true, true])
        pool.release(member: 1, id: 7)
        #expect(events.closed == [1])
        pool.release(member: 0, id: 7)
        pool.release(member: 2, id: 7)
        #expect(events.closed == [1, 0, 2])
        #expect(pool.openCount == 0)
        #expect(try assign(pool, ids: [7]) == [3])
        #expect(pool.socketsOpened == 4)
    }

    // Replies are matched by ID per socket: one ID twice on a socket would hand one query the other's answer.
    @Test func idWaitingOnEverySocketGetsASocketOfItsOwn() throws {
        let events = PoolEvents()
        let pool = makePool(sockets: 2, queries: 100, events: events)
        let numbers = try [(1, 7), (2, 9), (3, 7)].map { try pool.assign(token: $0, id: $1, upstream: 0, remote: first).number }
        #expect(numbers == [0, 1, 1], "ID 7 waits on #0, so the rotation moves on to #1")
        let own = try pool.assign(token: 4, id: 7, upstream: 0, remote: first)
        #expect(own.number == 2)
        #expect(own.isRetired)
        #expect(pool.members[0]?.pending == [7: 1])
        #expect(pool.members[1]?.pending == [9: 2, 7: 3])
        #expect(pool.members[2]?.pending == [7: 4])
        #expect(try assign(pool, ids: [8, 10, 11]) == [0, 1, 0], "a socket of its own is not in rotation")
        #expect(events.opened == [0, 1, 2])
        pool.release(member: 2, id: 7)
        #expect(events.closed == [2])
        #expect(pool.members.keys.sorted() == [0, 1])
    }

    // A socket whose send failed must carry no more queries, yet replies already due on it still count.
    @Test func retireWaitsForPendingQueries() throws {
        let events = PoolEvents()
        let pool = makePool(sockets: 2, queries: 100, events: events)
        #expect(try assign(pool, ids: [1, 2]) == [0, 1])
        pool.retire(member: 0)
        #expect(events.closed == [])
        #expect(pool.members[0] != nil)
        #expect(try assign(pool, ids: [3, 4, 5, 6]) == [2, 1, 2, 1], "#0 gets nothing; #2 takes its place")
        pool.release(member: 0, id: 1)
        #expect(events.closed == [0])
        for id: UInt16 in [2, 4, 6] { pool.release(member: 1, id: id) }
        #expect(pool.members[1] != nil, "an idle socket in rotation stays open")
        pool.retire(member: 1)
        #expect(events.closed == [0, 1], "retiring an idle socket closes it at once")
        pool.retire(member: 1)
        #expect(events.closed == [0, 1])
        #expect(try assign(pool, ids: [7]) == [3])
        #expect(pool.members.keys.sorted() == [2, 3])
    }

    // A socket epoll cannot watch would never deliver its reply: it must not stay in the pool.
    @Test func failedRegistrationLeavesNothingBehind() throws {
        let events = PoolEvents()
        let pool = makePool(sockets: 1, queries: 100, events: events)
        events.refuseNextOpen = true
        #expect(throws: RegistrationRefused(member: 0)) { try pool.assign(token: 1, id: 1, upstream: 0, remote: first) }
        #expect(pool.members.isEmpty)
        #expect(pool.socketsOpened == 0)
        #expect(try assign(pool, ids: [1]) == [1])
        #expect(events.opened == [1])
        // Failing to open a socket of its own leaves the pooled one as it was.
        events.refuseNextOpen = true
        #expect(throws: RegistrationRefused(member: 2)) { try pool.assign(token: 2, id: 1, upstream: 0, remote: first) }
        #expect(pool.members.keys.sorted() == [1])
        #expect(pool.members[1]?.pending == [1: token(1)])
        #expect(pool.members[1]?.queriesLeft == 99)
        #expect(events.closed == [])
    }

    // Shutdown must unregister every socket from epoll, retired ones still waiting included.
    // Out of descriptors while refilling: the sockets still open keep serving instead of every query failing.
    @Test func failedRefillFallsBackToOpenSockets() throws {
        let events = PoolEvents()
        let pool = makePool(sockets: 2, queries: 2, events: events)
        #expect(try assign(pool, ids: [1, 2, 3]) == [0, 1, 0])
        #expect(pool.members[0]?.isRetired == true)
        events.refuseNextOpen = true
        #expect(try assign(pool, ids: [4]) == [1], "the refill failed: the open socket takes the query")
        #expect(pool.members[1]?.isRetired == true)
        events.refuseNextOpen = true
        #expect(throws: RegistrationRefused(member: 3)) { try pool.assign(token: 5, id: 5, upstream: 0, remote: first) }
        #expect(try assign(pool, ids: [6]) == [4])
    }

    @Test func closeAllClosesEverySocket() throws {
        let events = PoolEvents()
        let pool = makePool(upstreams: 2, sockets: 2, queries: 2, events: events)
        #expect(try assign(pool, ids: [1, 2, 3]) == [0, 1, 0])
        #expect(try assign(pool, ids: [4], upstream: 1) == [2])
        #expect(pool.members[0]?.isRetired == true)
        pool.closeAll()
        #expect(events.closed.sorted() == [0, 1, 2])
        #expect(pool.openCount == 0)
        pool.release(member: 0, id: 1)
        #expect(events.closed.count == 3)
        #expect(try assign(pool, ids: [5]) == [3], "no closed socket is left in rotation")
    }

    // The point of a connected pool socket: the upstream's reply comes back on it, and nobody else's does.
    @Test func repliesArriveOnThePooledSocket() throws {
        let upstream = try LoopbackUDPSocket()
        let pool = makePool(sockets: 1, queries: 10, events: PoolEvents())
        let member = try pool.assign(token: 1, id: 0x1234, upstream: 0, remote: upstream.endpoint)
        let query: [UInt8] = [0x12, 0x34, 0x01, 0x00]
        try query.withUnsafeBytes { try member.socket.send($0) }
        let (received, sender) = try upstream.receive()
        #expect(received == query)
        // Sent first on loopback, a stranger's datagram would be read first were it not dropped.
        try LoopbackUDPSocket().send([0xde, 0xad], to: sender)
        let reply: [UInt8] = [0x12, 0x34, 0x81, 0x80, 0x00]
        try upstream.send(reply, to: sender)
        try #require(waitReadable(member.socket.socket.rawValue))
        var buffer = [UInt8](repeating: 0, count: 512)
        let length = try buffer.withUnsafeMutableBytes { try member.socket.receive(into: $0) }
        #expect(length == reply.count)
        #expect(Array(buffer.prefix(reply.count)) == reply)
        #expect(try buffer.withUnsafeMutableBytes { try member.socket.receive(into: $0) } == nil)
    }

    // The daemon reads pooled sockets with recvmmsg: every waiting reply in one call, oversize ones flagged.
    @Test func repliesArriveInBatches() throws {
        let upstream = try LoopbackUDPSocket()
        let pool = makePool(sockets: 1, queries: 10, events: PoolEvents())
        let member = try pool.assign(token: 1, id: 1, upstream: 0, remote: upstream.endpoint)
        try [UInt8]([0, 1]).withUnsafeBytes { try member.socket.send($0) }
        let (_, sender) = try upstream.receive()
        let batch = DatagramBatch(capacity: 2, slotSize: 1024)
        let replies: [[UInt8]] = [[0, 1, 0xAA], [0, 2, 0xBB], [UInt8](repeating: 7, count: 2000), [0, 4]]
        for reply in replies { try upstream.send(reply, to: sender) }
        try #require(waitReadable(member.socket.socket.rawValue))
        #expect(try member.socket.receive(into: batch) == 2, "as many as the batch holds")
        #expect(batch.datagram(0).map(Array.init) == replies[0])
        #expect(batch.datagram(1).map(Array.init) == replies[1])
        #expect(try member.socket.receive(into: batch) == 2)
        #expect(batch.datagram(0) == nil, "longer than a slot: reported, not cut short")
        #expect(batch.datagram(1).map(Array.init) == replies[3])
        #expect(try member.socket.receive(into: batch) == nil, "empty: nil, not an error")
    }
}

/// The pool's callbacks, by member number.
private final class PoolEvents {
    var opened: [Int] = []
    var closed: [Int] = []
    var refuseNextOpen = false
}

private struct RegistrationRefused: Error, Equatable {
    let member: Int
}

/// Waits at most two seconds.
private func waitReadable(_ descriptor: Int32) -> Bool {
    var entry = pollfd(fd: descriptor, events: Int16(POLLIN), revents: 0)
    return poll(&entry, 1, 2000) == 1
}

/// A plain UDP socket on 127.0.0.1 standing in for an upstream.
private final class LoopbackUDPSocket {
    let descriptor: OwnedFileDescriptor
    let endpoint: IPEndpoint

    init() throws {
        let fd = socket(AF_INET, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        try #require(fd >= 0, "socket: errno \(errno)")
        descriptor = OwnedFileDescriptor(taking: fd)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = UInt32(INADDR_LOOPBACK).bigEndian
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, length) == 0 && getsockname(fd, $0, &length) == 0
            }
        }
        try #require(bound, "bind: errno \(errno)")
        endpoint = IPEndpoint(address: .v4(IPv4Address(127, 0, 0, 1)), port: UInt16(bigEndian: address.sin_port))
    }

    func send(_ bytes: [UInt8], to destination: IPEndpoint) throws {
        let sent = bytes.withUnsafeBytes { buffer in
            destination.withSockaddr { sendto(descriptor.rawValue, buffer.baseAddress, buffer.count, 0, $0, $1) }
        }
        try #require(sent == bytes.count, "sendto: errno \(errno)")
    }

    func receive() throws -> (bytes: [UInt8], sender: IPEndpoint) {
        try #require(waitReadable(descriptor.rawValue))
        var buffer = [UInt8](repeating: 0, count: 512)
        var storage = sockaddr_storage()
        var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        let count = buffer.withUnsafeMutableBytes { bytes in
            withUnsafeMutablePointer(to: &storage) { pointer in
                pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    recvfrom(descriptor.rawValue, bytes.baseAddress, bytes.count, 0, $0, &length)
                }
            }
        }
        try #require(count >= 0, "recvfrom: errno \(errno)")
        let sender = withUnsafeBytes(of: &storage) { IPEndpoint(sockaddr: $0.baseAddress!, length: Int(length)) }
        return (Array(buffer.prefix(count)), try #require(sender))
    }
}
