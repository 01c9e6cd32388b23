/// Saving the cache to bytes and loading it back (`CacheSnapshot`), for
/// `serve --cache-file`. Both run off the query path: the snapshot takes
/// each shard's lock for one chunk of slots at a time, and encodes after
/// letting go; a load runs before the first query is served.
extension DNSCache {
    /// Slots copied per lock acquisition while taking a snapshot: 1,024
    /// reference copies hold a shard for microseconds, not the milliseconds
    /// a whole shard of 100,000 would.
    static var snapshotChunk: Int { 1_024 }

    /// What a load did.
    public struct RestoreCounts: Sendable, Equatable {
        /// Entries now in the cache from the file.
        public var loaded = 0
        /// Entries past their TTL (and past the serve-stale window) at load, left out.
        public var expired = 0
    }

    /// The cache as file bytes and how many entries they hold. `now` and
    /// `unixNanoseconds` are the same moment on the monotonic and the wall clock.
    public func snapshot(now: MonotonicInstant, unixNanoseconds: Int64) -> (bytes: [UInt8], entries: Int) {
        var items: [CacheSnapshot.Item] = []
        // Room for all up front (and some inserted meanwhile): no array growth while a lock is held.
        items.reserveCapacity(count + count / 8)
        for shard in shards {
            var next: Int? = 0
            while let start = next {
                next = shard.lock.withLock { shard.state.snapshot(from: start, limit: Self.snapshotChunk, into: &items) }
            }
        }
        return (CacheSnapshot.encode(items, now: now, unixNanoseconds: unixNanoseconds), items.count)
    }

    /// Loads a cache file's entries, aged by the wall-clock time since each
    /// was stored; those expired (beyond the serve-stale window, if any) are
    /// left out. Checked whole first: a damaged file loads nothing.
    public func restore(_ bytes: [UInt8], now: MonotonicInstant,
                        unixNanoseconds: Int64) throws(CacheSnapshotError) -> RestoreCounts {
        let records = try bytes.withUnsafeBytes { raw in
            Result { () throws(CacheSnapshotError) in
                try CacheSnapshot.decode(raw, now: now, unixNanoseconds: unixNanoseconds)
            }
        }.get()
        let serveStale = configuration.serveStale
        var counts = RestoreCounts()
        // File order is least recently used first: under a smaller budget the last in stay.
        for record in records {
            let answer = record.answer
            let servable = answer.isFresh(at: now) || (serveStale > 0 && answer.kind != .serverFailure
                && now < answer.expiresAt + .seconds(Int64(serveStale)))
            guard servable else {
                counts.expired += 1
                continue
            }
            insert(answer, for: record.key, now: now)
            counts.loaded += 1
        }
        // What a smaller budget evicted on the way is not in the cache.
        counts.loaded = min(counts.loaded, count)
        return counts
    }
}
