import Logging
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
    /// Connections past their time are closed by the idle sweep.
    func hasExpired(_ connection: Connection, now: ContinuousClock.Instant) -> Bool
}

/// A listener and its connections on one loop: accepts (bounded per wake-up),
/// registers, hands events to the service, closes what it lets go.
final class StreamServer<Service: StreamService>: EventHandler {
    private let listener: Service.Listener
    private let service: Service
    private let loop: EventLoop
    private let logger: Logger
    private var listenerRegistration: LoopRegistration?
    private var connections: [LoopRegistration: Service.Connection] = [:]

    init(listener: Service.Listener, service: Service, loop: EventLoop, logger: Logger) throws(SystemCallError) {
        self.listener = listener
        self.service = service
        self.loop = loop
        self.logger = logger
        listenerRegistration = try loop.register(listener.descriptor, handler: self)
    }

    var connectionCount: Int { connections.count }

    func handle(_ event: EventPoller.Event, on registration: LoopRegistration) {
        if registration == listenerRegistration {
            acceptQueued(limit: 16, accept: listener.acceptNext, failed: { error in
                logger.warning("accepting a \(service.name) connection failed", metadata: ["error": "\(error)"])
            }, take: adopt)
            return
        }
        guard let connection = connections[registration] else { return }
        switch service.progress(connection, event: event) {
        case .keep(let interest?): try? loop.modify(registration, interest: interest)
        case .keep(nil): break
        case .close: close(registration)
        }
    }

    func closeIdle(now: ContinuousClock.Instant) {
        for (registration, connection) in connections where service.hasExpired(connection, now: now) {
            close(registration)
        }
    }

    func closeAll() {
        for registration in Array(connections.keys) { close(registration) }
    }

    private func adopt(_ socket: Service.Listener.Accepted) {
        guard let registration = try? loop.register(service.descriptor(of: socket), handler: self) else { return }
        connections[registration] = service.open(socket, now: .now)
    }

    private func close(_ registration: LoopRegistration) {
        guard connections.removeValue(forKey: registration) != nil else { return }
        loop.unregister(registration)
    }
}
