import DNSForward
import RawUDP

/// The Prometheus endpoint's protocol on a `StreamServer`: plain HTTP, one
/// short connection per scrape, `GET /metrics` rendered from the daemon's stats.
/// The request must arrive within `requestDeadline` of accept and the answer
/// be read within `connectionLifetime`: the port may face the whole LAN.
final class MetricsService: StreamService {
    static let connectionLifetime = Duration.seconds(30)

    typealias Listener = TCPListener

    let name = "metrics"
    private unowned let target: ControlTarget
    private let readBuffer: UnsafeMutableRawBufferPointer

    init(target: ControlTarget, readBuffer: UnsafeMutableRawBufferPointer) {
        self.target = target
        self.readBuffer = readBuffer
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

    func progress(_ connection: MetricsConnection, event: EventPoller.Event) -> StreamProgress {
        var interest: EventPoller.Interest?
        if !connection.answered {
            do {
                guard let read = try connection.stream.read(into: readBuffer) else { return .keep(nil) }
                guard read > 0, connection.request.count + read <= MetricsConnection.requestLimit else { return .close }
                connection.request += readBuffer[..<read]
            } catch {
                return .close
            }
            guard let line = connection.requestLine else { return .keep(nil) }
            connection.answer(response(to: line))
            interest = .writable
        }
        do {
            try connection.flush()
        } catch {
            return .close
        }
        return connection.finished ? .close : .keep(interest)
    }
}
