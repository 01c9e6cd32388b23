import DNSForward
import RawUDP

/// Everything `serve` decided from its flags.
struct DaemonConfiguration {
    /// How UDP replies leave with the targeted address as their source.
    enum ReplyPath: String, CaseIterable {
        /// One IPPROTO_RAW socket per family; we write the IP and UDP headers.
        case raw
        /// An IP_TRANSPARENT UDP socket bound to each spoofed source (the usual
        /// relay technique), kept for comparison in the benchmark.
        case socketPerSource = "socket-per-source"
    }

    var port: UInt16
    var upstreams: [IPEndpoint]
    var forwarder: ForwarderConfiguration
    var tcpIdleTimeout: Duration = .seconds(10)
    var tcpMaximumConnections = 512
    /// Pipelined queries one TCP connection may have open before we stop reading it.
    var tcpMaximumOutstanding = 64
    /// Where local zones were loaded from, for reloads.
    var zonesDirectory: String?
    /// The control socket; nil turns it off.
    var controlPath: String?
    /// Query log file, "-" for standard output; nil is off.
    var queryLogPath: String?
    /// Prometheus metrics over HTTP; nil is off.
    var metricsEndpoint: IPEndpoint?
    var replyVia = ReplyPath.raw
    /// UDP sockets per upstream that new queries rotate over.
    var upstreamSockets = 8
    /// Queries one upstream UDP socket sends before it is replaced by one on a new random port.
    var upstreamSocketQueries = 256
    /// Event loops answering UDP queries, one thread each (`serve --workers`).
    var workers = 1
    var admission = ClientAdmission(allowed: IPPrefix.privateRanges, refusedAction: .refuse, rateLimit: nil)
}
