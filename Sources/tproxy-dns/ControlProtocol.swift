import Foundation

/// The control socket protocol: JSON lines over a Unix stream socket.
///
/// The client sends one `ControlRequest` line. The daemon answers with one or
/// more `ControlReply` lines and closes the connection: `stats` or `error`
/// alone, or any number of `entry` lines (dump, lookup) closed by a `done`
/// line. Unknown fields are ignored, so old clients keep working.
struct ControlRequest: Codable {
    enum Command: String, Codable {
        case stats, dump, lookup, flush
        case zonesReload = "zones-reload"
    }

    var command: Command
    /// lookup, flush: a domain name in presentation form.
    var name: String?
    /// lookup: a record type mnemonic; nil means every type.
    var type: String?
    /// flush: the whole subtree below `name`.
    var subtree: Bool?
}

struct ControlReply: Codable {
    var stats: DaemonStats?
    var entry: CacheEntryView?
    var done: ControlDone?
    var error: String?
}

struct ControlDone: Codable {
    /// Entries sent (dump, lookup) or removed (flush); zones loaded (zones-reload).
    var count: Int
    var message: String?
}

/// One cached answer as `cache dump` and `cache lookup` show it.
struct CacheEntryView: Codable {
    var name: String
    var type: String
    var `class`: Int
    var dnssecOK: Bool
    var checkingDisabled: Bool
    /// positive, nxdomain, nodata, servfail.
    var kind: String
    var rcode: String
    /// Seconds until expiry; negative once expired (kept for serve-stale).
    var remainingTTL: Int
    var ageSeconds: Int
    var hits: Int
    /// Upstream address that answered, or "daemon" for entries it made.
    var answeredBy: String
    var stale: Bool
    var records: [String]
}

struct DaemonStats: Codable {
    struct Cache: Codable {
        var entries: Int
        var capacity: Int
        var bytes: Int
        var hits: Int
        var misses: Int
        var hitRatio: Double
        var staleHits: Int
        var insertions: Int
        var evictions: Int
        var expired: Int
    }

    struct Upstream: Codable {
        var address: String
        var up: Bool
        var queries: Int
        var failures: Int
        /// Smoothed round-trip time; nil until measured.
        var rttMilliseconds: Double?
    }

    struct Destination: Codable {
        var address: String
        var queries: Int
    }

    struct Answers: Codable {
        var queries: Int
        var fromCache: Int
        var fromStaleCache: Int
        var fromZones: Int
        var fromUpstreams: Int
        var coalesced: Int
        var serverFailures: Int
        var timeouts: Int
        var rejectedUpstreamReplies: Int
        var tcpRetries: Int
        var droppedQueries: Int
    }

    struct Transport: Codable {
        var tcpConnections: Int
        var tcpRejected: Int
        var replySendFailures: Int
        var receiveDropsTruncated: Int
        var receiveDropsNoOriginalDestination: Int
    }

    struct Admission: Codable {
        var refused: Int
        var ignored: Int
        var rateLimited: Int
    }

    struct QueryLog: Codable {
        var enabled: Bool
        var written: Int
        var dropped: Int
    }

    var uptimeSeconds: Int
    var inFlight: Int
    var cache: Cache
    var answers: Answers
    var upstreams: [Upstream]
    /// The servers clients thought they were asking, most asked first.
    var originalDestinations: [Destination]
    var transport: Transport
    var queryLog: QueryLog
    var zones: [String]
    /// Answers sent, by response code (NOERROR, NXDOMAIN, ...).
    var responseCodes: [String: Int]
    var admission: Admission
    /// Queries each event loop took, the main thread's first (`serve --workers`):
    /// how evenly the kernel spreads clients. Optional so a CLI can read a daemon
    /// from before it existed.
    var queriesByWorker: [Int]?
}

enum ControlCodec {
    static func line<T: Encodable>(_ value: T) -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        // Encoding our own plain structs cannot fail; an empty object keeps the line well formed.
        return Array((try? encoder.encode(value)) ?? Data("{}".utf8)) + [0x0A]
    }

    static func decode<T: Decodable>(_ type: T.Type, from line: some Collection<UInt8>) throws -> T {
        try JSONDecoder().decode(type, from: Data(line))
    }
}
