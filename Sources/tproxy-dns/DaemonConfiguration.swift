import DNSForward
import RawUDP

/// Everything `serve` decided from its flags.
struct DaemonConfiguration {
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
}
