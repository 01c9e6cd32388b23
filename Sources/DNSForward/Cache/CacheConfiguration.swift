/// Cache sizing and TTL policy; every value has a `serve` flag.
public struct CacheConfiguration: Sendable {
    /// Entries held at most; 0 disables caching.
    public var capacity: Int = 100_000
    /// Bytes the entries may take, overhead included (`CacheEntry.memoryCost`):
    /// an entry cap alone lets a few thousand 60 kB answers take gigabytes.
    /// 32 MiB holds the default 100,000 entries of a typical ~200-byte answer.
    public var memoryLimit: Int = 32 << 20
    /// Floor for positive TTLs (seconds).
    public var minimumTTL: UInt32 = 0
    /// Ceiling for positive TTLs (seconds).
    public var maximumTTL: UInt32 = 86_400
    /// Ceiling for NXDOMAIN/NODATA TTLs (seconds), RFC 2308 5.
    public var maximumNegativeTTL: UInt32 = 3_600
    /// How long SERVFAIL and upstream timeouts are remembered (seconds). RFC 9520
    /// asks for at least 1 s so a failing name cannot make us hammer upstreams.
    public var serverFailureTTL: UInt32 = 5
    /// RFC 8767: how long past expiry an answer may still be served when every
    /// upstream fails (seconds); 0 turns serve-stale off.
    public var serveStale: UInt32 = 0
    /// TTL on stale answers (RFC 8767 section 4 recommends 30 s).
    public var staleAnswerTTL: UInt32 = 30

    public init() {}
}
