import DNSForward
import Logging
import RawUDP

/// The control socket's I/O: accept CLI clients, read one request line each,
/// write what `ControlRequestHandler` answers, close. Runs on the event loop
/// between packets; a CLI that connects and never asks is let go after a minute.
final class ControlServer: EventHandler {
    static let requestLineLimit = 64 * 1024
    static let connectionLifetime = Duration.seconds(60)
    /// Output queued on one connection before a dump waits for the socket to drain.
    static let outputHighWater = 256 * 1024

    private let listener: UnixStreamListener
    private let loop: EventLoop
    private let handler: ControlRequestHandler
    private let readBuffer: UnsafeMutableRawBufferPointer
    private let logger: Logger
    private var listenerRegistration: LoopRegistration?
    private var connections: [LoopRegistration: ControlConnection] = [:]

    init(listener: UnixStreamListener, loop: EventLoop, handler: ControlRequestHandler,
         readBuffer: UnsafeMutableRawBufferPointer, logger: Logger) throws(SystemCallError) {
        self.listener = listener
        self.loop = loop
        self.handler = handler
        self.readBuffer = readBuffer
        self.logger = logger
        listenerRegistration = try loop.register(listener.socket.rawValue, handler: self)
    }

    var connectionCount: Int { connections.count }

    func handle(_ event: EventPoller.Event, on registration: LoopRegistration) {
        if registration == listenerRegistration {
            acceptQueued(limit: 16, accept: listener.accept, failed: { error in
                logger.warning("accepting a control connection failed", metadata: ["error": "\(error)"])
            }, take: adopt)
        } else if let connection = connections[registration] {
            progress(connection, event: event)
        }
    }

    func closeIdle(now: ContinuousClock.Instant) {
        for connection in Array(connections.values) where connection.openedAt.duration(to: now) >= Self.connectionLifetime {
            close(connection)
        }
    }

    func closeAll() {
        for connection in Array(connections.values) { close(connection) }
    }

    private func adopt(_ socket: UnixStreamSocket) {
        guard let registration = try? loop.register(socket.socket.rawValue, handler: self) else { return }
        connections[registration] = ControlConnection(socket: socket, registration: registration, now: .now)
    }

    private func progress(_ connection: ControlConnection, event: EventPoller.Event) {
        if event.isReadable || event.isClosedOrFailed, connection.dump == nil, !connection.closeWhenFlushed {
            guard readRequest(connection) else { return }
        }
        continueDump(connection)
        do {
            try connection.flush()
        } catch {
            close(connection)
            return
        }
        if connection.closeWhenFlushed, connection.pendingOutput == 0, connection.dump == nil {
            close(connection)
            return
        }
        var interest: EventPoller.Interest = []
        if connection.pendingOutput > 0 || connection.dump != nil { interest.insert(.writable) }
        if !connection.closeWhenFlushed, connection.dump == nil { interest.insert(.readable) }
        try? loop.modify(connection.registration, interest: interest)
    }

    /// Reads what arrived and answers a complete request line; false once the connection is gone.
    private func readRequest(_ connection: ControlConnection) -> Bool {
        do {
            guard let read = try connection.socket.read(into: readBuffer) else { return false }
            if read == 0 {
                close(connection)
                return false
            }
            connection.input += readBuffer[..<read]
        } catch {
            close(connection)
            return false
        }
        if let line = connection.takeRequestLine() {
            connection.closeWhenFlushed = true
            switch handler.respond(to: line, now: .now) {
            case .replies(let replies): replies.forEach(connection.send)
            case .dump(let dump): connection.dump = dump
            }
        } else if connection.input.count > Self.requestLineLimit {
            connection.send(ControlReply(error: "request line longer than 64 KiB"))
            connection.closeWhenFlushed = true
        }
        return true
    }

    /// The next chunk of a dump in progress, while the socket keeps up.
    private func continueDump(_ connection: ControlConnection) {
        guard var dump = connection.dump, connection.pendingOutput < Self.outputHighWater else { return }
        handler.continueDump(&dump, now: .now).forEach(connection.send)
        connection.dump = dump.isFinished ? nil : dump
    }

    private func close(_ connection: ControlConnection) {
        guard connections.removeValue(forKey: connection.registration) != nil else { return }
        loop.unregister(connection.registration)
    }
}
