import DNSForward
import RawUDP

#if canImport(Glibc)
import Glibc
#endif

/// Everything `serve` decided from its flags.
public struct DaemonConfiguration: Sendable {
    /// How UDP replies leave with the targeted address as their source.
    public enum ReplyPath: String, CaseIterable, Sendable {
        /// One IPPROTO_RAW socket per family; we write the IP and UDP headers.
        case raw
        /// An IP_TRANSPARENT UDP socket bound to each spoofed source (the usual
        /// relay technique), kept for comparison in the benchmark.
        case socketPerSource = "socket-per-source"
    }

    public var port: UInt16
    public var upstreams: [IPEndpoint]
    public var forwarder: ForwarderConfiguration
    public var tcpIdleTimeout: Duration = .seconds(10)
    public var tcpMaximumConnections = 512
    /// Pipelined queries one TCP connection may have open before we stop reading it.
    public var tcpMaximumOutstanding = 64
    /// From the first byte of a TCP message to its last (`--tcp-message-timeout`).
    public var tcpMessageTimeout: Duration = .seconds(2)
    /// TCP connections one client address may hold (`--tcp-max-per-client`).
    public var tcpMaximumPerClient = 8
    /// Metrics connections open at once (`--metrics-max-connections`).
    public var metricsMaximumConnections = 16
    /// Where local zones were loaded from, for reloads.
    public var zonesDirectory: String?
    /// The control socket; nil turns it off.
    public var controlPath: String?
    /// Query log file, "-" for standard output; nil is off.
    public var queryLogPath: String?
    /// Who must own the query log file: the account the daemon runs as after
    /// `--user`; nil is the user that started it.
    public var queryLogOwner: uid_t?
    /// Prometheus metrics over HTTP; nil is off.
    public var metricsEndpoint: IPEndpoint?
    public var replyVia = ReplyPath.raw
    /// SO_MARK on the raw reply sockets (`--reply-mark`); nil: none.
    public var replyMark: UInt32?
    /// UDP sockets per upstream that new queries rotate over.
    public var upstreamSockets = 8
    /// Queries one upstream UDP socket sends before it is replaced by one on a new random port.
    public var upstreamSocketQueries = 256
    /// The `tls://` upstreams, `--upstream-ca`, `--upstream-pin` and the TLS pool's limits.
    public var upstreamTLS = UpstreamTLSConfiguration()
    /// Event loops answering UDP queries, one thread each (`serve --workers`).
    public var workers = 1
    /// Where the cache is kept across restarts (`--cache-file`); nil is off.
    public var cacheFile: String?
    /// Seconds between saves of `cacheFile` (`--cache-save-interval`); 0: only at exit.
    public var cacheSaveInterval = 3_600
    public var admission = ClientAdmission(allowed: IPPrefix.privateRanges, refusedAction: .refuse, rateLimit: nil)

    public init(port: UInt16, upstreams: [IPEndpoint], forwarder: ForwarderConfiguration) {
        self.port = port
        self.upstreams = upstreams
        self.forwarder = forwarder
    }
}
