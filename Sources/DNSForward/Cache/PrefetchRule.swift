/// When a cache hit earns its entry a refresh ahead of expiry (`serve --prefetch`):
/// less than a tenth of the entry's lifetime left, at least `minimumHits` hits
/// since it was stored (the one deciding counted), and a lifetime of at least
/// `minimumLifetime`. Unbound's prefetch uses the same tenth; the hit floor
/// keeps a name asked once from costing a second upstream query, and the
/// lifetime floor keeps short-TTL names (load balancers, CDNs) from refreshing
/// every few seconds for nobody.
///
/// SERVFAIL entries are never refreshed early: they exist to keep a failing
/// name from reaching the upstreams (RFC 9520).
///
/// Pure arithmetic on the entry's header fields: the cache-hit fast path
/// decides with it under the shard's lock, without allocating.
enum PrefetchRule {
    /// Shorter lifetimes are never prefetched (seconds).
    static var minimumLifetime: UInt32 { 10 }
    static var minimumHits: UInt32 { 2 }

    @inline(__always)
    static func isDue(storedAt: ContinuousClock.Instant, lifetime: UInt32, hits: UInt32, kind: CachedAnswer.Kind,
                      now: ContinuousClock.Instant) -> Bool {
        guard lifetime >= minimumLifetime, hits >= minimumHits, kind != .serverFailure else { return false }
        // Left < lifetime / 10  ⇔  age × 10 > lifetime × 9, in whole nanoseconds.
        return storedAt.duration(to: now) * 10 > .seconds(Int64(lifetime)) * 9
    }
}
