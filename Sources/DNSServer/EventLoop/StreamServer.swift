import DNSForward
import RawUDP

/// A listening socket the loop accepts from: TCP (metrics) or Unix (control).
protocol StreamListener {
    associatedtype Accepted: AcceptedStream
    var descriptor: Int32 { get }
    /// The next pending connection, or nil when none is waiting (both listeners have it).
    func accept() throws(SystemCallError) -> Accepted?
}

extension TCPListener: StreamListener {
    var descriptor: Int32 { socket.rawValue }
}

extension UnixStreamListener: StreamListener {
    var descriptor: Int32 { socket.rawValue }
}

/// A connection a listener handed over: its descriptor is what the loop watches.
protocol AcceptedStream {
    var descriptor: Int32 { get }
}

extension StreamSocket: AcceptedStream {
    var descriptor: Int32 { socket.rawValue }
}

extension UnixStreamSocket: AcceptedStream {
    var descriptor: Int32 { socket.rawValue }
}

/// What to do with a connection after it had its turn.
enum StreamProgress {
    /// Keep it; change its interest when one is given.
    case keep(EventPoller.Interest?)
    case close
}

/// One request/response protocol served on a stream listener: what a new
/// connection is, and what it does when its socket is ready.
protocol StreamService: AnyObject {
    associatedtype Listener: StreamListener
    associatedtype Connection: ServedConnection where Connection.Socket == Listener.Accepted
    /// How long a connection may stay once its request is in.
    static var connectionLifetime: Duration { get }
    /// For log lines: "control", "metrics".
    var name: String { get }
    func progress(_ connection: Connection, event: EventPoller.Event) -> StreamProgress
}

/// One accepted connection of a `StreamServer`.
protocol ServedConnection: AnyObject {
    associatedtype Socket
    init(socket: Socket, now: MonotonicInstant)
    var openedAt: MonotonicInstant { get }
    /// The request has been read (or refused): the connection lives on only to answer.
    var requestIsIn: Bool { get }
}

extension StreamService {
    /// From accept to a complete request: a client that connects and trickles
    /// or sends nothing holds a connection slot this long at most.
    static var requestDeadline: Duration { .seconds(5) }

    /// Closed by the idle sweep (once a second): the request deadline until
    /// the request is in, then `connectionLifetime`.
    static func hasExpired(_ connection: Connection, now: MonotonicInstant) -> Bool {
        connection.openedAt.duration(to: now) >= (connection.requestIsIn ? connectionLifetime : requestDeadline)
    }
}

/// A listener and its connections on one loop: accepts (bounded per wake-up,
/// at most `maximumConnections` open, never into the descriptor reserve),
/// registers, hands events to the service, closes what it lets go and what
/// the service says has run out of time.
final class StreamServer<Service: StreamService>: EventHandler {
    private let listener: Service.Listener
    private let service: Service
    private let loop: EventLoop
    let acceptor: ListenerAcceptor
    /// Past it a new connection is closed at once (counted in `refusedConnections`).
    var maximumConnections: Int
    private var connections: [LoopRegistration: Service.Connection] = [:]
    /// Connections closed at accept: over `maximumConnections` or into the descriptor reserve.
    private var refusedOverLimit = 0

    init(listener: Service.Listener, service: Service, loop: EventLoop, maximumConnections: Int,
         reserve: DescriptorReserve, warnings: RateLimitedLogger) throws(SystemCallError) {
        self.listener = listener
        self.service = service
        self.loop = loop
        self.maximumConnections = maximumConnections
        acceptor = ListenerAcceptor(name: service.name, loop: loop, reserve: reserve, warnings: warnings)
        acceptor.registration = try loop.register(listener.descriptor, handler: self)
    }

    var connectionCount: Int { connections.count }

    var refusedConnections: Int { refusedOverLimit + acceptor.refusedForReserve }

    func handle(_ event: EventPoller.Event, on registration: LoopRegistration) {
        if registration == acceptor.registration {
            acceptor.acceptQueued(limit: 16, now: .now, accept: listener.accept, descriptor: \.descriptor,
                                  take: adopt)
            return
        }
        guard let connection = connections[registration] else { return }
        switch service.progress(connection, event: event) {
        case .keep(let interest?): try? loop.modify(registration, interest: interest)
        case .keep(nil): break
        case .close: close(registration)
        }
    }

    /// The idle sweep: closes connections past their time.
    func closeIdle(now: MonotonicInstant) {
        for (registration, connection) in connections where Service.hasExpired(connection, now: now) {
            close(registration)
        }
    }

    func closeAll() {
        for registration in Array(connections.keys) { close(registration) }
    }

    private func adopt(_ socket: Service.Listener.Accepted) {
        // Dropping the socket closes it; the deadline frees a slot within seconds.
        guard connections.count < maximumConnections else {
            refusedOverLimit += 1
            return
        }
        guard let registration = try? loop.register(socket.descriptor, handler: self) else { return }
        connections[registration] = Service.Connection(socket: socket, now: .now)
    }

    private func close(_ registration: LoopRegistration) {
        guard connections.removeValue(forKey: registration) != nil else { return }
        loop.unregister(registration)
    }
}
