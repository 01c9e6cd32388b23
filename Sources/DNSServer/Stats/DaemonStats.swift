/// Everything `cache stats` shows and the metrics expose, for one loop or
/// (added up, `DaemonStats+Merging.swift`) the whole daemon.
public struct DaemonStats: Codable, Sendable {
    public struct Cache: Codable, Sendable {
        public var entries: Int
        public var capacity: Int
        public var bytes: Int
        public var hits: Int
        public var misses: Int
        public var hitRatio: Double
        public var staleHits: Int
        public var insertions: Int
        public var evictions: Int
        public var expired: Int
        // Optional so a CLI can read a daemon from before they existed.
        /// Memory the entries take, overhead included, and its `--cache-memory` budget.
        public var memoryBytes: Int?
        public var memoryLimit: Int?
        /// Answers not cached because one alone exceeds a shard's memory share.
        public var oversized: Int?
        /// Refreshes of popular entries near expiry started (`serve --prefetch`), and
        /// those that got no answer to store. Optional: older daemons lack them.
        public var prefetches: Int?
        public var prefetchFailures: Int?
    }

    public struct Upstream: Codable, Sendable {
        public var address: String
        public var up: Bool
        public var queries: Int
        public var failures: Int
        /// Smoothed round-trip time; nil until measured.
        public var rttMilliseconds: Double?
        /// Whether its UDP queries get DNS 0x20 (random letter case). Optional: older daemons lack it.
        public var caseRandomization: Bool?
    }

    public struct Destination: Codable, Sendable {
        public var address: String
        public var queries: Int
    }

    public struct Answers: Codable, Sendable {
        public var queries: Int
        public var fromCache: Int
        public var fromStaleCache: Int
        public var fromZones: Int
        public var fromUpstreams: Int
        public var coalesced: Int
        public var serverFailures: Int
        public var timeouts: Int
        public var rejectedUpstreamReplies: Int
        public var tcpRetries: Int
        public var droppedQueries: Int
        /// Misses answered SERVFAIL because their client had `--max-in-flight-per-client`
        /// attempts in flight. Optional so a CLI can read a daemon from before it existed.
        public var overQuota: Int?
        /// Upstream replies with our ID in another letter case (DNS 0x20). Optional: older daemons lack it.
        public var caseMismatches: Int?
        /// UDP queries sent again to the same upstream for want of a reply (`--upstream-retransmits`).
        /// Optional: older daemons lack it.
        public var upstreamRetransmits: Int?
    }

    public struct Transport: Codable, Sendable {
        public var tcpConnections: Int
        public var tcpRejected: Int
        public var replySendFailures: Int
        public var receiveDropsTruncated: Int
        public var receiveDropsNoOriginalDestination: Int
        // Optional so a CLI can read a daemon from before they existed.
        /// TCP connections closed to make room for a new one (waiting longest, owing nothing).
        public var tcpEvicted: Int?
        /// Metrics and control connections closed at accept: over their cap or into the descriptor reserve.
        public var streamRefused: Int?
        /// Times a listener stopped accepting for a moment for want of descriptors.
        public var acceptPauses: Int?
        /// Upstream sockets retired because forged replies flooded them. Optional: older daemons lack it.
        public var upstreamSocketsRetiredForForgery: Int?
        /// DNS over TLS upstreams (optional: older daemons lack them): connections opened,
        /// handshakes that resumed a session, connections that failed (connect, handshake,
        /// verification, pin, closed with queries unanswered).
        public var tlsConnectionsOpened: Int?
        public var tlsSessionsResumed: Int?
        public var tlsConnectionFailures: Int?
    }

    public struct Admission: Codable, Sendable {
        public var refused: Int
        public var ignored: Int
        public var rateLimited: Int
        /// REFUSED replies not sent over --refused-rate. Optional: older daemons lack it.
        public var refusedDropped: Int?
    }

    public struct QueryLog: Codable, Sendable {
        public var enabled: Bool
        public var written: Int
        public var dropped: Int
    }

    public var uptimeSeconds: Int
    public var inFlight: Int
    public var cache: Cache
    public var answers: Answers
    public var upstreams: [Upstream]
    /// The servers clients thought they were asking, most asked first.
    public var originalDestinations: [Destination]
    public var transport: Transport
    public var queryLog: QueryLog
    public var zones: [String]
    /// Answers sent, by response code (NOERROR, NXDOMAIN, ...).
    public var responseCodes: [String: Int]
    public var admission: Admission
    /// Queries each event loop took, the main thread's first (`serve --workers`):
    /// how evenly the kernel spreads clients. Optional so a CLI can read a daemon
    /// from before it existed.
    public var queriesByWorker: [Int]?
    /// `--cache-file`'s loads and saves; nil when there is none (and from older daemons).
    public var cacheFile: CacheFile?
    /// The most asked question names and the busiest clients (`topLimit` each, "other" last
    /// once a loop tracks its 4096): `tproxy-dns top`. Optional: older daemons lack them.
    public var topNames: [Destination]?
    public var topClients: [Destination]?

    /// Rows of `topNames` and `topClients` a loop reports.
    public static let topLimit = 20
    /// Routing policy: decisions by rule, block list size; nil from older daemons.
    public var policy: Policy?
}
