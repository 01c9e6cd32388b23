import DNSForward
import Logging
import RawUDP

/// The Prometheus endpoint: plain HTTP on the event loop, one short
/// connection per scrape.
extension Daemon {
    func acceptMetricsConnections() {
        guard let metricsListener else { return }
        for _ in 0..<16 {
            let stream: StreamSocket
            do {
                guard let accepted = try metricsListener.accept() else { return }
                stream = accepted
            } catch {
                logger.warning("accepting a metrics connection failed", metadata: ["error": "\(error)"])
                return
            }
            let id = nextConnectionID | PollToken.secondKind
            nextConnectionID += 1
            do {
                try poller.register(stream.socket.rawValue, token: PollToken.controlTag | id)
            } catch {
                continue
            }
            metricsConnections[id] = MetricsConnection(id: id, stream: stream, now: .now)
        }
    }

    func handleMetrics(_ event: EventPoller.Event, id: UInt64) {
        guard let connection = metricsConnections[id] else { return }
        if connection.output.isEmpty {
            do {
                guard let read = try connection.stream.read(into: readBuffer) else { return }
                guard read > 0, connection.request.count + read <= 16_384 else {
                    closeMetrics(id)
                    return
                }
                connection.request += readBuffer[..<read]
            } catch {
                closeMetrics(id)
                return
            }
            guard let line = connection.requestLine else { return }
            let parts = line.split(separator: " ")
            if parts.count >= 2, parts[0] == "GET", parts[1] == "/metrics" || parts[1].hasPrefix("/metrics?") {
                let body = PrometheusExposition.render(
                    stats: stats(now: .now),
                    upstreamLatency: upstreamLatencies().enumerated().map { (configuration.upstreams[$0.offset].description, $0.element) })
                connection.output = MetricsConnection.response(status: "200 OK", contentType: "text/plain; version=0.0.4; charset=utf-8", body: body)
            } else {
                connection.output = MetricsConnection.response(status: "404 Not Found", contentType: "text/plain", body: "try GET /metrics\n")
            }
            try? poller.modify(connection.stream.socket.rawValue, token: PollToken.controlTag | id, interest: .writable)
        }
        do {
            try connection.flush()
        } catch {
            closeMetrics(id)
            return
        }
        if connection.finished { closeMetrics(id) }
    }

    func closeMetrics(_ id: UInt64) {
        guard let connection = metricsConnections.removeValue(forKey: id) else { return }
        poller.unregister(connection.stream.socket.rawValue)
    }
}
