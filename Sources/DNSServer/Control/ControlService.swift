import DNSForward
import Logging
import RawUDP

/// The control socket's protocol on a `StreamServer`: read one request line,
/// write what `ControlRequestHandler` answers (a dump in chunks as the socket
/// drains), close. A client that connects and does not ask within
/// `requestDeadline` is let go; any connection after a minute.
final class ControlService: StreamService {
    static let requestLineLimit = 64 * 1024
    static let connectionLifetime = Duration.seconds(60)
    /// Connections open at once: the socket is 0600, so only the daemon's own
    /// user (an operator's CLI, a monitoring script) connects; a few are plenty.
    static let maximumConnections = 8
    /// Output queued on one connection before a dump waits for the socket to drain.
    static let outputHighWater = 256 * 1024

    typealias Listener = UnixStreamListener

    let name = "control"
    private let handler: ControlRequestHandler
    private let readBuffer: UnsafeMutableRawBufferPointer

    init(handler: ControlRequestHandler, readBuffer: UnsafeMutableRawBufferPointer) {
        self.handler = handler
        self.readBuffer = readBuffer
    }

    func progress(_ connection: ControlConnection, event: EventPoller.Event) -> StreamProgress {
        if event.isReadable || event.isClosedOrFailed, connection.dump == nil, !connection.closeWhenFlushed {
            switch readRequest(connection) {
            case .keep(nil): return .keep(nil)
            case .close: return .close
            case .keep: break
            }
        }
        continueDump(connection)
        do {
            try connection.flush()
        } catch {
            return .close
        }
        if connection.closeWhenFlushed, connection.pendingOutput == 0, connection.dump == nil { return .close }
        var interest: EventPoller.Interest = []
        if connection.pendingOutput > 0 || connection.dump != nil { interest.insert(.writable) }
        if !connection.closeWhenFlushed, connection.dump == nil { interest.insert(.readable) }
        return .keep(interest)
    }

    /// Reads what arrived and answers a complete request line: `.keep(nil)`
    /// when nothing was there to read, `.close` when the client is gone.
    private func readRequest(_ connection: ControlConnection) -> StreamProgress {
        do {
            guard let read = try connection.socket.read(into: readBuffer) else { return .keep(nil) }
            if read == 0 { return .close }
            connection.input += readBuffer[..<read]
        } catch {
            return .close
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
        return .keep([])
    }

    /// The next chunk of a dump in progress, while the socket keeps up.
    private func continueDump(_ connection: ControlConnection) {
        guard var dump = connection.dump, connection.pendingOutput < Self.outputHighWater else { return }
        handler.continueDump(&dump, now: .now).forEach(connection.send)
        connection.dump = dump.isFinished ? nil : dump
    }
}
