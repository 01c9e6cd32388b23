import DNSForward
import RawUDP

/// One long-lived DNS-over-TLS connection to an upstream (RFC 7858), many
/// queries in flight on it (RFC 7766 6.2.1.1 pipelining): queries are written
/// as they come, framed and padded, and answers come back in any order, each
/// matched to its attempt by ID (the forwarder then checks the question).
/// Queries given before the handshake completes wait and leave with it.
final class DoTConnection {
    enum State: Equatable {
        case connecting
        case handshaking
        case ready
    }

    /// What one event brought.
    struct Progress {
        var handshakeCompleted = false
        var messages: [[UInt8]] = []
        /// The server ended the connection cleanly (EOF or close_notify).
        var closed = false
    }

    let number: Int
    let upstream: Int
    let stream: StreamSocket
    let tls: TLSStream
    var registration: LoopRegistration?
    /// The interest last given to the poller, so it is changed only when it must be.
    var registeredInterest: EventPoller.Interest = [.readable, .writable]
    private(set) var state = State.connecting
    let openedAt: MonotonicInstant
    private(set) var lastActivity: MonotonicInstant
    /// Query ID → the forwarder's token for the attempt waiting on it.
    private(set) var pending: [UInt16: UInt64] = [:]
    /// The framed queries of `pending`, kept to ask again elsewhere if the server closes first.
    private var framedQueries: [UInt16: [UInt8]] = [:]
    private var waitingForHandshake: [[UInt8]] = []
    private var outgoing = OutgoingBytes()
    private var ciphertext: [UInt8] = []
    private var framer = DNSStreamFramer()

    init(number: Int, upstream: Int, stream: StreamSocket, tls: TLSStream, now: MonotonicInstant) {
        self.number = number
        self.upstream = upstream
        self.stream = stream
        self.tls = tls
        openedAt = now
        lastActivity = now
    }

    /// What the poller should watch: writability while connecting or while
    /// ciphertext waits for the socket.
    var wantedInterest: EventPoller.Interest {
        state == .connecting || outgoing.pendingCount > 0 ? [.readable, .writable] : .readable
    }

    func isFree(for id: UInt16) -> Bool { pending[id] == nil }

    /// Encrypts a framed, padded query for attempt `token`; it reaches the
    /// socket with the round's other queries at `flushToSocket` (one write
    /// per connection per loop round, as UDP queries share one sendmmsg).
    func send(framedQuery: [UInt8], id: UInt16, token: UInt64) throws(DoTFailure) {
        pending[id] = token
        framedQueries[id] = framedQuery
        guard state == .ready else {
            waitingForHandshake.append(framedQuery)
            return
        }
        do { try tls.write(framedQuery) } catch { throw .tls(error) }
    }

    /// Whether it is in the round's list of connections to flush.
    var awaitsFlush = false

    /// Writes what the round's queries produced.
    func flushToSocket() throws(DoTFailure) {
        awaitsFlush = false
        try flush()
    }

    /// The attempt ended (answered, timed out, moved on): its ID is free again.
    func release(id: UInt16) {
        pending[id] = nil
        framedQueries[id] = nil
    }

    /// Every attempt still waiting here, removed.
    func takePending() -> [UInt64] {
        takeUnanswered().map(\.token)
    }

    /// Every query still waiting here with its bytes, removed.
    func takeUnanswered() -> [(id: UInt16, token: UInt64, framedQuery: [UInt8])] {
        defer {
            pending.removeAll()
            framedQueries.removeAll()
        }
        return pending.map { (id: $0.key, token: $0.value, framedQuery: framedQueries[$0.key] ?? []) }
    }

    /// An orderly end (idle, or the server closed first): close_notify goes
    /// out if the socket takes it, which also keeps the session resumable.
    func closeGracefully() {
        guard state == .ready else { return }
        tls.shutdown()
        try? flush()
    }

    /// Connect, handshake, write and read as far as the socket allows.
    func handle(_ event: EventPoller.Event, buffer: UnsafeMutableRawBufferPointer,
                now: MonotonicInstant) throws(DoTFailure) -> Progress {
        var progress = Progress()
        if state == .connecting {
            guard event.isWritable || event.isClosedOrFailed else { return progress }
            do { try stream.connectResult() } catch { throw .socket(error) }
            state = .handshaking
        }
        progress.closed = try readSocket(into: buffer)
        lastActivity = now
        if state == .handshaking {
            let completed: Bool
            do { completed = try tls.handshake() } catch { throw .tls(error) }
            if completed {
                state = .ready
                progress.handshakeCompleted = true
                try encryptAndFlush(waitingForHandshake)
                waitingForHandshake.removeAll()
            } else if progress.closed {
                throw .tls(TLSFailure(operation: "TLS handshake", reason: "connection closed by the server"))
            }
        }
        if state == .ready {
            try readMessages(into: buffer, progress: &progress)
        }
        try flush()
        return progress
    }

    /// Feeds everything the socket has to OpenSSL; true at end of stream.
    private func readSocket(into buffer: UnsafeMutableRawBufferPointer) throws(DoTFailure) -> Bool {
        while true {
            let count: Int?
            do { count = try stream.read(into: buffer) } catch { throw .socket(error) }
            guard let count else { return false }
            if count == 0 { return true }
            tls.receive(UnsafeRawBufferPointer(rebasing: buffer[..<count]))
        }
    }

    private func readMessages(into buffer: UnsafeMutableRawBufferPointer, progress: inout Progress) throws(DoTFailure) {
        while true {
            let count: Int?
            do { count = try tls.read(into: buffer) } catch { throw .tls(error) }
            guard let count else { break }
            if count == 0 {
                progress.closed = true
                break
            }
            framer.append(UnsafeRawBufferPointer(rebasing: buffer[..<count]))
        }
        while let message = framer.nextMessage() { progress.messages.append(message) }
    }

    private func encryptAndFlush(_ queries: [[UInt8]]) throws(DoTFailure) {
        for query in queries {
            do { try tls.write(query) } catch { throw .tls(error) }
        }
        try flush()
    }

    /// Moves what OpenSSL produced to the socket, as far as it takes it.
    private func flush() throws(DoTFailure) {
        ciphertext.removeAll(keepingCapacity: true)
        tls.takeOutgoing(into: &ciphertext)
        if !ciphertext.isEmpty { outgoing.append(ciphertext) }
        guard state != .connecting, outgoing.pendingCount > 0 else { return }
        do {
            try outgoing.flush { bytes, offset throws(SystemCallError) in try stream.write(bytes, from: offset) }
        } catch {
            throw .socket(error)
        }
    }
}

/// Why a DNS-over-TLS connection ended with queries lost.
enum DoTFailure: Error, CustomStringConvertible {
    case socket(SystemCallError)
    case tls(TLSFailure)
    case pinMismatch(pins: Int)
    case closedWithQueriesPending(Int)
    case handshakeTimedOut

    var description: String {
        switch self {
        case .socket(let error): return "\(error)"
        case .tls(let failure): return "\(failure)"
        case .pinMismatch(let pins):
            return "certificate verification: no key in the chain matches the \(pins) --upstream-pin value(s)"
        case .closedWithQueriesPending(let count): return "connection closed by the server with \(count) queries unanswered"
        case .handshakeTimedOut: return "TCP connect or TLS handshake took too long"
        }
    }
}
