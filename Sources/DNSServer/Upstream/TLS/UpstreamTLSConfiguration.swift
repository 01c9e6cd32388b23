/// The DNS-over-TLS side of `serve`: which upstreams speak TLS and how, and
/// the connection pool's limits (RFC 7858 3.4: long-lived, reused connections).
public struct UpstreamTLSConfiguration: Sendable, Equatable {
    /// By upstream index: the ones given as `tls://`.
    public var upstreams: [Int: TLSUpstream] = [:]
    /// PEM bundle the chains are verified against (`--upstream-ca`); nil: the system store.
    public var caFile: String?
    /// Connections kept to one upstream at most.
    public var connectionsPerUpstream = 4
    /// Queries in flight on one connection before another is opened.
    public var queriesPerConnection = 64
    /// A connection with nothing in flight for this long is closed.
    public var idleTimeout: Duration = .seconds(30)
    /// From connect to a verified handshake.
    public var handshakeTimeout: Duration = .seconds(5)

    public init() {}

    public var isEmpty: Bool { upstreams.isEmpty }
}
