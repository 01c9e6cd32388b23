import RawUDP

/// A listening socket the loop accepts from: TCP (metrics) or Unix (control).
protocol StreamListener {
    associatedtype Accepted
    var descriptor: Int32 { get }
    func acceptNext() throws(SystemCallError) -> Accepted?
}

extension TCPListener: StreamListener {
    var descriptor: Int32 { socket.rawValue }
    func acceptNext() throws(SystemCallError) -> StreamSocket? { try accept() }
}

extension UnixStreamListener: StreamListener {
    var descriptor: Int32 { socket.rawValue }
    func acceptNext() throws(SystemCallError) -> UnixStreamSocket? { try accept() }
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
    associatedtype Connection: AnyObject
    /// For log lines: "control", "metrics".
    var name: String { get }
    func open(_ socket: Listener.Accepted, now: ContinuousClock.Instant) -> Connection
    func descriptor(of socket: Listener.Accepted) -> Int32
    func progress(_ connection: Connection, event: EventPoller.Event) -> StreamProgress
    /// Connections past their time are closed by the idle sweep (once a second).
    func hasExpired(_ connection: Connection, now: ContinuousClock.Instant) -> Bool
}

extension StreamService {
    /// From accept to a complete request: a client that connects and trickles
    /// or sends nothing holds a connection slot this long at most.
    static var requestDeadline: Duration { .seconds(5) }
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
            acceptor.acceptQueued(limit: 16, now: .now, accept: listener.acceptNext, descriptor: service.descriptor,
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
    func closeIdle(now: ContinuousClock.Instant) {
        for (registration, connection) in connections where service.hasExpired(connection, now: now) {
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
        guard let registration = try? loop.register(service.descriptor(of: socket), handler: self) else { return }
        connections[registration] = service.open(socket, now: .now)
    }

    private func close(_ registration: LoopRegistration) {
        guard connections.removeValue(forKey: registration) != nil else { return }
        loop.unregister(registration)
    }
}
