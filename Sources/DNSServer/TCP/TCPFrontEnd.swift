import DNSForward
import Logging
import RawUDP

/// Intercepted TCP clients (TC fallback, RFC 7766): accept, read framed
/// queries (pipelined up to a limit), hand them to the pipeline, write the
/// framed replies back in whatever order they complete, close idle ones.
/// Against slowloris: a message must be complete within `messageTimeout` of
/// its first byte, one address holds `maximumPerClient` connections at most
/// (a newcomer over that replaces the address's own idle one, or is refused),
/// and a full table evicts the connection that has kept us waiting longest
/// rather than refusing the newcomer.
final class TCPFrontEnd: EventHandler {
    struct Limits {
        var maximumConnections: Int
        /// Pipelined queries one connection may have open before we stop reading it.
        var maximumOutstanding: Int
        var idleTimeout: Duration
        /// From a message's first byte to its last.
        var messageTimeout = Duration.seconds(2)
        /// Connections one client address may hold at once.
        var maximumPerClient = 8
        /// Output a client may leave unread before it is dropped.
        var maximumPendingOutput = 1 << 20
    }

    private let listener: TCPListener
    private let loop: EventLoop
    private let pipeline: QueryPipeline
    private let admission: AdmissionGate
    /// Everything but the connection cap follows SIGHUP; the cap needs a restart.
    var limits: Limits
    private let readBuffer: UnsafeMutableRawBufferPointer
    private let logger: Logger
    private let warnings: RateLimitedLogger
    let acceptor: ListenerAcceptor
    private var connections = ClientConnectionTable()
    private var nextID: UInt64 = 1
    /// New connections closed unserved: their client's share is used up, or
    /// the table is full of connections all being answered.
    private(set) var rejectedConnections = 0
    /// Old connections closed to make room for a new one.
    private(set) var evictedConnections = 0

    init(listener: TCPListener, loop: EventLoop, pipeline: QueryPipeline, admission: AdmissionGate, limits: Limits,
         readBuffer: UnsafeMutableRawBufferPointer, reserve: DescriptorReserve = .unlimited,
         warnings: RateLimitedLogger) throws(SystemCallError) {
        self.listener = listener
        self.admission = admission
        self.loop = loop
        self.pipeline = pipeline
        self.limits = limits
        self.readBuffer = readBuffer
        logger = warnings.logger
        self.warnings = warnings
        acceptor = ListenerAcceptor(name: "TCP", loop: loop, reserve: reserve, warnings: warnings)
        acceptor.registration = try loop.register(listener.socket.rawValue, handler: self)
        pipeline.tcpReplies = self
    }

    var connectionCount: Int { connections.count }

    func handle(_ event: EventPoller.Event, on registration: LoopRegistration) {
        if registration == acceptor.registration {
            acceptor.acceptQueued(limit: 64, now: .now, accept: listener.accept, descriptor: \.descriptor,
                                  take: adopt)
        } else if let connection = connections.connection(registeredAs: registration) {
            progress(connection, event: event)
        }
    }

    /// A reply for a query read from connection `id` (gone meanwhile: dropped).
    func sendReply(_ bytes: [UInt8], connection id: UInt64) {
        guard let connection = connections[id], let framed = DNSStreamFramer.frame(bytes) else { return }
        connection.outstanding = max(0, connection.outstanding - 1)
        connection.output.append(framed)
        connection.lastActivity = .now
        do {
            try connection.flush()
        } catch {
            close(connection)
            return
        }
        // A client that stops reading must not make us buffer without bound.
        if connection.pendingOutput > limits.maximumPendingOutput {
            logger.debug("closing slow TCP client", metadata: ["client": "\(connection.stream.remote)"])
            close(connection)
            return
        }
        if connection.isDone {
            close(connection)
            return
        }
        updateInterest(connection)
        // Replies may have freed pipelining room for queries already buffered.
        if connection.framer.pendingByteCount > 0, connection.outstanding < limits.maximumOutstanding {
            submitBufferedQueries(connection, now: .now)
        }
    }

    /// The sweep (once a second): idle connections (RFC 7766 6.2.3) and
    /// messages not complete within `messageTimeout` of their first byte.
    func closeIdle(now: MonotonicInstant) {
        for connection in connections.expired(now: now, idleTimeout: limits.idleTimeout,
                                              messageTimeout: limits.messageTimeout) {
            close(connection)
        }
    }

    func closeAll() {
        for connection in connections.all { close(connection) }
    }

    private func adopt(_ stream: StreamSocket) {
        let client = stream.remote.address
        // Outside --allow: no TCP service at all (closing is the TCP form of refusing).
        guard admission.isAllowed(client) else {
            _ = admission.admit(client, now: .now)
            return
        }
        // Dropping the socket closes it.
        guard makeRoom(within: client), makeRoom() else {
            rejectedConnections += 1
            return
        }
        let registration: LoopRegistration
        do {
            registration = try loop.register(stream.socket.rawValue, handler: self)
        } catch {
            warnings.warning("watching a TCP connection failed", metadata: ["error": "\(error)"])
            return
        }
        connections.insert(ClientConnection(id: nextID, stream: stream, registration: registration, now: .now))
        nextID += 1
    }

    /// A client at its share gives up its connection idle longest: clients
    /// that open a connection per query close the last one just before the
    /// next, and its end may still be unread in the same wake-up. False when
    /// every one of its connections is being answered or is mid-message
    /// (a slowloris stays refused, not churned).
    private func makeRoom(within client: IPAddress) -> Bool {
        guard connections.count(from: client) >= limits.maximumPerClient else { return true }
        guard let victim = connections.idleConnection(from: client) else { return false }
        evict(victim)
        return true
    }

    /// A full table evicts the connection that has kept us waiting longest
    /// (idle, or stalled mid-message): one slow client cannot lock the rest
    /// out. False when every connection is being answered.
    private func makeRoom() -> Bool {
        guard connections.count >= limits.maximumConnections else { return true }
        guard let victim = connections.evictionCandidate() else { return false }
        evict(victim)
        return true
    }

    private func evict(_ victim: ClientConnection) {
        logger.debug("evicting a waiting TCP client", metadata: ["client": "\(victim.stream.remote)"])
        evictedConnections += 1
        close(victim)
    }

    private func progress(_ connection: ClientConnection, event: EventPoller.Event) {
        if event.isWritable {
            do {
                try connection.flush()
            } catch {
                close(connection)
                return
            }
        }
        if event.isReadable || event.isClosedOrFailed, !connection.readClosed {
            readQueries(from: connection, now: .now)
        }
        guard connections[connection.id] != nil else { return }
        updateInterest(connection)
    }

    private func readQueries(from connection: ClientConnection, now: MonotonicInstant) {
        let read: Int
        do {
            guard let count = try connection.stream.read(into: readBuffer) else { return }
            read = count
        } catch {
            close(connection)
            return
        }
        if read == 0 {
            connection.readClosed = true
            // Nothing more can come: what is left of a message is no longer awaited.
            connection.messageStartedAt = nil
            if connection.isDone { close(connection) }
            return
        }
        connection.lastActivity = now
        connection.framer.append(UnsafeRawBufferPointer(rebasing: readBuffer[..<read]))
        submitBufferedQueries(connection, now: now)
    }

    /// Hands complete queries to the pipeline while under the pipelining
    /// limit, then starts or stops the clock on the message left incomplete.
    private func submitBufferedQueries(_ connection: ClientConnection, now: MonotonicInstant) {
        let client = ClientContext.tcp(connection: connection.id, client: connection.stream.remote,
                                       originalDestination: connection.originalDestination)
        var taken = 0
        while connection.outstanding < limits.maximumOutstanding, let message = connection.framer.nextMessage() {
            taken += 1
            // Every query counted here gets exactly one reply; anything the
            // forwarder would drop unanswered means this is no DNS client.
            guard let header = message.withUnsafeBytes({ DNSHeader(wire: $0) }), !header.isResponse else {
                close(connection)
                return
            }
            if admission.limitsRate, admission.admit(connection.stream.remote.address, now: now) != .admit {
                continue
            }
            connection.outstanding += 1
            message.withUnsafeBytes { pipeline.submit($0, from: client, now: now) }
            guard connections[connection.id] != nil else { return }
        }
        // Under the pipelining limit every complete message has been taken, so
        // what is left is the start of the next one. Over it we stop reading:
        // the rest may be in the kernel's buffer, and that is not the client's delay.
        let partial = connection.framer.pendingByteCount > 0 && connection.outstanding < limits.maximumOutstanding
        if !partial {
            connection.messageStartedAt = nil
        } else if taken > 0 || connection.messageStartedAt == nil {
            connection.messageStartedAt = now
        }
    }

    /// Read while under the pipelining limit, write while output is queued.
    private func updateInterest(_ connection: ClientConnection) {
        var interest: EventPoller.Interest = []
        if !connection.readClosed, connection.outstanding < limits.maximumOutstanding { interest.insert(.readable) }
        if connection.pendingOutput > 0 { interest.insert(.writable) }
        do {
            try loop.modify(connection.registration, interest: interest)
        } catch {
            close(connection)
        }
    }

    private func close(_ connection: ClientConnection) {
        guard connections.remove(connection) else { return }
        loop.unregister(connection.registration)
    }
}
