import DNSForward
import Logging
import RawUDP

/// Intercepted TCP clients (TC fallback, RFC 7766): accept, read framed
/// queries (pipelined up to a limit), hand them to the pipeline, write the
/// framed replies back in whatever order they complete, close idle ones.
final class TCPFrontEnd: EventHandler {
    struct Limits {
        var maximumConnections: Int
        /// Pipelined queries one connection may have open before we stop reading it.
        var maximumOutstanding: Int
        var idleTimeout: Duration
        /// Output a client may leave unread before it is dropped.
        var maximumPendingOutput = 1 << 20
    }

    private let listener: TCPListener
    private let loop: EventLoop
    private let pipeline: QueryPipeline
    /// Idle timeout and pipelining limit follow SIGHUP; the connection cap needs a restart.
    var limits: Limits
    private let readBuffer: UnsafeMutableRawBufferPointer
    private let logger: Logger
    private var listenerRegistration: LoopRegistration?
    private var connections: [UInt64: ClientConnection] = [:]
    private var byRegistration: [LoopRegistration: UInt64] = [:]
    private var nextID: UInt64 = 1
    private(set) var rejectedConnections = 0

    init(listener: TCPListener, loop: EventLoop, pipeline: QueryPipeline, limits: Limits,
         readBuffer: UnsafeMutableRawBufferPointer, logger: Logger) throws(SystemCallError) {
        self.listener = listener
        self.loop = loop
        self.pipeline = pipeline
        self.limits = limits
        self.readBuffer = readBuffer
        self.logger = logger
        listenerRegistration = try loop.register(listener.socket.rawValue, handler: self)
        pipeline.tcpReplies = self
    }

    var connectionCount: Int { connections.count }

    func handle(_ event: EventPoller.Event, on registration: LoopRegistration) {
        if registration == listenerRegistration {
            acceptConnections()
        } else if let id = byRegistration[registration], let connection = connections[id] {
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

    /// RFC 7766 6.2.3: idle connections are closed by the server.
    func closeIdle(now: ContinuousClock.Instant) {
        for connection in Array(connections.values) where connection.lastActivity.duration(to: now) >= limits.idleTimeout {
            close(connection)
        }
    }

    func closeAll() {
        for connection in Array(connections.values) { close(connection) }
    }

    private func acceptConnections() {
        acceptQueued(limit: 64, accept: listener.accept, failed: { error in
            logger.warning("accepting a TCP connection failed", metadata: ["error": "\(error)"])
        }, take: adopt)
    }

    private func adopt(_ stream: StreamSocket) {
        // Outside --allow: no TCP service at all (closing is the TCP form of refusing).
        guard pipeline.admission.isAllowed(stream.remote.address) else {
            _ = pipeline.admission.admit(stream.remote.address, now: .now)
            return
        }
        guard connections.count < limits.maximumConnections else {
            // Dropping the socket closes it: better one refused client than none served.
            rejectedConnections += 1
            return
        }
        let registration: LoopRegistration
        do {
            registration = try loop.register(stream.socket.rawValue, handler: self)
        } catch {
            logger.warning("watching a TCP connection failed", metadata: ["error": "\(error)"])
            return
        }
        let connection = ClientConnection(id: nextID, stream: stream, registration: registration, now: .now)
        nextID += 1
        connections[connection.id] = connection
        byRegistration[registration] = connection.id
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

    private func readQueries(from connection: ClientConnection, now: ContinuousClock.Instant) {
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
            if connection.isDone { close(connection) }
            return
        }
        connection.lastActivity = now
        connection.framer.append(UnsafeRawBufferPointer(rebasing: readBuffer[..<read]))
        submitBufferedQueries(connection, now: now)
    }

    /// Hands complete queries to the pipeline while under the pipelining limit.
    private func submitBufferedQueries(_ connection: ClientConnection, now: ContinuousClock.Instant) {
        let client = ClientContext.tcp(connection: connection.id, client: connection.stream.remote,
                                       originalDestination: connection.originalDestination)
        while connection.outstanding < limits.maximumOutstanding, let message = connection.framer.nextMessage() {
            // Every query counted here gets exactly one reply; anything the
            // forwarder would drop unanswered means this is no DNS client.
            guard let header = message.withUnsafeBytes({ DNSHeader(wire: $0) }), !header.isResponse else {
                close(connection)
                return
            }
            if pipeline.admission.rateLimiter != nil, pipeline.admission.admit(connection.stream.remote.address, now: now) != .admit {
                continue
            }
            connection.outstanding += 1
            message.withUnsafeBytes { pipeline.submit($0, from: client, now: now) }
            guard connections[connection.id] != nil else { return }
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
        guard connections.removeValue(forKey: connection.id) != nil else { return }
        byRegistration[connection.registration] = nil
        loop.unregister(connection.registration)
    }
}
