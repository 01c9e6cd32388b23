import DNSForward
import Logging
import RawUDP

/// The Prometheus endpoint: plain HTTP on the event loop, one short
/// connection per scrape, `GET /metrics` rendered from the daemon's stats.
final class MetricsServer: EventHandler {
    private let listener: TCPListener
    private let loop: EventLoop
    private unowned let target: ControlTarget
    private let readBuffer: UnsafeMutableRawBufferPointer
    private let logger: Logger
    private var listenerRegistration: LoopRegistration?
    private var connections: [LoopRegistration: MetricsConnection] = [:]

    init(listener: TCPListener, loop: EventLoop, target: ControlTarget, readBuffer: UnsafeMutableRawBufferPointer,
         logger: Logger) throws(SystemCallError) {
        self.listener = listener
        self.loop = loop
        self.target = target
        self.readBuffer = readBuffer
        self.logger = logger
        listenerRegistration = try loop.register(listener.socket.rawValue, handler: self)
    }

    var connectionCount: Int { connections.count }

    func handle(_ event: EventPoller.Event, on registration: LoopRegistration) {
        if registration == listenerRegistration {
            acceptQueued(limit: 16, accept: listener.accept, failed: { error in
                logger.warning("accepting a metrics connection failed", metadata: ["error": "\(error)"])
            }, take: adopt)
        } else if let connection = connections[registration] {
            progress(connection)
        }
    }

    func closeAll() {
        for connection in Array(connections.values) { close(connection) }
    }

    /// The HTTP response to a request line.
    func response(to requestLine: String) -> [UInt8] {
        let parts = requestLine.split(separator: " ")
        guard parts.count >= 2, parts[0] == "GET", parts[1] == "/metrics" || parts[1].hasPrefix("/metrics?") else {
            return MetricsConnection.response(status: "404 Not Found", contentType: "text/plain", body: "try GET /metrics\n")
        }
        let body = PrometheusExposition.render(stats: target.stats(now: .now), upstreamLatency: target.upstreamLatencies())
        return MetricsConnection.response(status: "200 OK", contentType: "text/plain; version=0.0.4; charset=utf-8", body: body)
    }

    private func adopt(_ stream: StreamSocket) {
        guard let registration = try? loop.register(stream.socket.rawValue, handler: self) else { return }
        connections[registration] = MetricsConnection(stream: stream, registration: registration)
    }

    private func progress(_ connection: MetricsConnection) {
        if !connection.answered {
            do {
                guard let read = try connection.stream.read(into: readBuffer) else { return }
                guard read > 0, connection.request.count + read <= MetricsConnection.requestLimit else {
                    close(connection)
                    return
                }
                connection.request += readBuffer[..<read]
            } catch {
                close(connection)
                return
            }
            guard let line = connection.requestLine else { return }
            connection.answer(response(to: line))
            try? loop.modify(connection.registration, interest: .writable)
        }
        do {
            try connection.flush()
        } catch {
            close(connection)
            return
        }
        if connection.finished { close(connection) }
    }

    private func close(_ connection: MetricsConnection) {
        guard connections.removeValue(forKey: connection.registration) != nil else { return }
        loop.unregister(connection.registration)
    }
}
