import RawUDP

/// Connected UDP sockets to the upstreams, shared by the queries in flight.
///
/// A socket per query (socket, connect, epoll add, epoll delete, close) cost
/// more CPU than everything else a cache miss does. A small pool per upstream
/// keeps most of what that bought: each socket has its own kernel-randomized
/// source port and is retired after `queriesPerSocket` queries (closed once
/// its last reply is in, replaced by one on a new random port), and being
/// connected it still drops datagrams from any other address or port. The
/// query ID picks the waiting query; the forwarder then checks ID and question
/// as before. What it gives up: a port stays in use for up to
/// `queriesPerSocket` queries, so an off-path spoofer who learns one can aim
/// at many queries with it, and guesses among `socketsPerUpstream` ports
/// instead of one. `queriesPerSocket` 1 is the socket-per-query behaviour.
///
/// The queries of one round (the daemon's receive batch) share a socket, and
/// `endRound` moves each upstream used on to its next socket: the round's
/// queries then leave in one sendmmsg and their replies come back on one
/// socket, one epoll event and recvmmsg rather than one per query.
final class UpstreamSocketPool {
    final class Member {
        let number: Int
        let upstream: Int
        let socket: ConnectedUDPSocket
        /// Query ID → the forwarder's token for the attempt waiting on it.
        var pending: [UInt16: UInt64] = [:]
        var queriesLeft: Int
        /// Its place in the event loop, once registered.
        var registration: LoopRegistration?
        var forgeryAlarm = ForgeryAlarm()

        init(number: Int, upstream: Int, socket: ConnectedUDPSocket, queries: Int) {
            self.number = number
            self.upstream = upstream
            self.socket = socket
            queriesLeft = queries
        }

        var isRetired: Bool { queriesLeft <= 0 }
    }

    let socketsPerUpstream: Int
    let queriesPerSocket: Int
    private(set) var members: [Int: Member] = [:]
    /// Per upstream, the members taking new queries, used round robin.
    private var active: [[Member]]
    private var cursors: [Int]
    /// Per upstream, whether the current round took a socket from its rotation.
    private var usedThisRound: [Bool]
    private var nextNumber = 0
    private(set) var socketsOpened = 0
    private let didOpen: (Member) throws -> Void
    private let willClose: (Member) -> Void

    /// `didOpen` registers a new member's socket for reading (a throw closes
    /// it again); `willClose` unregisters it.
    init(upstreams: Int, socketsPerUpstream: Int, queriesPerSocket: Int,
         didOpen: @escaping (Member) throws -> Void, willClose: @escaping (Member) -> Void) {
        self.socketsPerUpstream = max(1, socketsPerUpstream)
        self.queriesPerSocket = max(1, queriesPerSocket)
        active = Array(repeating: [], count: upstreams)
        cursors = Array(repeating: 0, count: upstreams)
        usedThisRound = Array(repeating: false, count: upstreams)
        self.didOpen = didOpen
        self.willClose = willClose
    }

    /// Open sockets, retired ones still waiting for replies included.
    var openCount: Int { members.count }

    /// Records the query with `id` for attempt `token` on a socket to
    /// `upstream` and returns that socket. Opens sockets up to the pool size,
    /// then rotates through them; an ID already waiting on every open socket
    /// gets a socket of its own.
    /// `singleUse`: a socket of its own, closed after this query (passthrough:
    /// every query may target another server, so none is worth keeping).
    func assign(token: UInt64, id: UInt16, upstream: Int, remote: IPEndpoint, singleUse: Bool = false) throws -> Member {
        let member: Member
        if singleUse {
            member = try open(upstream: upstream, remote: remote, queries: 1, joinsRotation: false)
        } else if active[upstream].count < socketsPerUpstream {
            do {
                member = try open(upstream: upstream, remote: remote, queries: queriesPerSocket, joinsRotation: true)
            } catch {
                // Out of descriptors, say: the sockets already open still work.
                guard let free = nextFree(upstream: upstream, id: id) else { throw error }
                member = free
            }
        } else if let free = nextFree(upstream: upstream, id: id) {
            member = free
        } else {
            member = try open(upstream: upstream, remote: remote, queries: 1, joinsRotation: false)
        }
        member.pending[id] = token
        member.queriesLeft -= 1
        if member.isRetired, let index = active[upstream].firstIndex(where: { $0 === member }) {
            active[upstream].remove(at: index)
        }
        return member
    }

    /// The next round's queries to each upstream used in this one go to its next socket.
    func endRound() {
        for upstream in usedThisRound.indices where usedThisRound[upstream] {
            usedThisRound[upstream] = false
            let count = active[upstream].count
            cursors[upstream] = count == 0 ? 0 : (cursors[upstream] + 1) % count
        }
    }

    /// The query is answered or abandoned; a retired socket closes with its last one.
    func release(member number: Int, id: UInt16) {
        guard let member = members[number] else { return }
        member.pending[id] = nil
        if member.isRetired, member.pending.isEmpty { close(member) }
    }

    /// A socket whose send failed, or whose port forgers have found, is not used again.
    func retire(member number: Int) {
        guard let member = members[number] else { return }
        member.queriesLeft = 0
        active[member.upstream].removeAll { $0 === member }
        if member.pending.isEmpty { close(member) }
    }

    func closeAll() {
        for member in Array(members.values) { close(member) }
        for index in active.indices { active[index].removeAll() }
    }

    private func nextFree(upstream: Int, id: UInt16) -> Member? {
        let candidates = active[upstream]
        for step in 0..<candidates.count {
            let member = candidates[(cursors[upstream] + step) % candidates.count]
            if member.pending[id] == nil {
                // Only the rotation moves the cursor: a freshly opened socket does not.
                usedThisRound[upstream] = true
                return member
            }
        }
        return nil
    }

    private func open(upstream: Int, remote: IPEndpoint, queries: Int, joinsRotation: Bool) throws -> Member {
        let socket = try ConnectedUDPSocket(connectingTo: remote)
        let member = Member(number: nextNumber, upstream: upstream, socket: socket, queries: queries)
        nextNumber += 1
        try didOpen(member)
        members[member.number] = member
        socketsOpened += 1
        if joinsRotation { active[upstream].append(member) }
        return member
    }

    private func close(_ member: Member) {
        guard members.removeValue(forKey: member.number) != nil else { return }
        active[member.upstream].removeAll { $0 === member }
        willClose(member)
    }
}
