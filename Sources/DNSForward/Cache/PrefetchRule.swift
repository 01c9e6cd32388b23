/// When a cache hit earns its entry a refresh ahead of expiry (`serve --prefetch`):
/// a tenth of the entry's lifetime left or less, in the whole seconds of TTL a
/// client would be given (30 s: at TTL 3, so 2 to 3 s before expiry), at least `minimumHits` hits
/// since it was stored (the one deciding counted), and a lifetime of at least
/// `minimumLifetime`. Unbound's prefetch uses the same tenth; the hit floor
/// keeps a name asked once from costing a second upstream query, and the
/// lifetime floor keeps short-TTL names (load balancers, CDNs) from refreshing
/// every few seconds for nobody.
///
/// SERVFAIL entries are never refreshed early: they exist to keep a failing
/// name from reaching the upstreams (RFC 9520).
///
/// Integer arithmetic on the entry's header fields and the age the hit has
/// already computed for its TTLs: the cache-hit fast path decides with it
/// under the shard's lock, without allocating and without `Duration` math
/// (128-bit, measurable per hit).
enum PrefetchRule {
    /// Shorter lifetimes are never prefetched (seconds).
    static var minimumLifetime: UInt32 { 10 }
    static var minimumHits: UInt32 { 2 }

    /// `age`: whole seconds since the entry was stored (`CacheEntry.age`), below `lifetime` while fresh.
    @inline(__always)
    static func isDue(age: UInt32, lifetime: UInt32, hits: UInt32, kind: CachedAnswer.Kind) -> Bool {
        guard lifetime >= minimumLifetime, hits >= minimumHits, kind != .serverFailure, age < lifetime else { return false }
        // TTL left × 10 ≤ lifetime, in 64 bits: lifetimes go up to UInt32.max.
        return UInt64(lifetime - age) * 10 <= UInt64(lifetime)
    }
}
