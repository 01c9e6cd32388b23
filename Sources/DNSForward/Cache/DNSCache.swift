/// The answer cache, safe to share between worker threads: keys are spread
/// over shards by hash, each a `CacheShard` (CLOCK eviction, its own index)
/// behind its own mutex, so threads working on different shards never wait
/// for each other.
///
/// `@unchecked Sendable` because of what it guarantees, not what the compiler
/// sees: every stored property is a `let` fixed in `init`; a shard's state,
/// including the mutable header fields of its entries (`referenced`, `hits`,
/// `serveStaleUntil` and the flags), is read and written only while holding
/// that shard's mutex. An entry `lookup` hands out may be read outside the
/// lock only for the parts fixed at creation (wire, TTL offsets, OPT range,
/// storedAt, lifetime, kind); `withFreshEntry`'s body runs under the lock.
/// No method holds two shard locks at once, so there is no lock order to get
/// wrong; whole-cache figures (`count`, `bytes`, `counters`, `keys`) are taken
/// shard by shard and may mix moments when other threads are writing.
public final class DNSCache: @unchecked Sendable {
    public struct Counters: Sendable {
        public var hits = 0
        public var staleHits = 0
        public var misses = 0
        public var insertions = 0
        public var evictions = 0
        public var expired = 0
        /// Answers not stored because one alone exceeds a shard's memory share.
        public var oversized = 0

        static func + (lhs: Counters, rhs: Counters) -> Counters {
            Counters(hits: lhs.hits + rhs.hits, staleHits: lhs.staleHits + rhs.staleHits,
                     misses: lhs.misses + rhs.misses, insertions: lhs.insertions + rhs.insertions,
                     evictions: lhs.evictions + rhs.evictions, expired: lhs.expired + rhs.expired,
                     oversized: lhs.oversized + rhs.oversized)
        }
    }

    /// The entry itself, read in place: a copy of its answer would allocate.
    /// Read its immutable parts only (see the type's comment); what the caller
    /// needs of the mutable ones comes alongside, as it was under the lock.
    enum Lookup {
        /// `prefetch`: this hit claimed the entry's refresh ahead of expiry.
        case fresh(CacheEntry, prefetch: Bool)
        /// Expired, but within the serve-stale window; `serveStaleUntil` as
        /// `markServeStale` last set it.
        case stale(CacheEntry, serveStaleUntil: MonotonicInstant?)
        case miss
    }

    /// A shard and the mutex that guards it.
    struct Shard {
        let lock = PthreadMutex()
        let state: CacheShard
    }

    /// Each shard holds at least this many entries: fewer shards than asked
    /// for beats shards so small that uneven hashing fills one, which then
    /// evicts while the others still have room.
    static var minimumShardCapacity: Int { 256 }

    /// Each shard gets at least this much of the memory limit, for the same
    /// reason, and so that a shard's share holds a large answer (a 64 KiB TCP
    /// answer is stored in a share of 256 KiB or more).
    static var minimumShardMemory: Int { 256 << 10 }

    /// Shards in use: as many as asked for, but no more than leaves each at
    /// least `minimumShardCapacity` entries and `minimumShardMemory` bytes,
    /// and at least one.
    public let shardCount: Int
    let shards: [Shard]
    /// The whole cache's capacity and memory limit; each shard's configuration holds its share.
    private let capacity: Int
    private let memoryLimit: Int

    /// `shards`: how many locks to spread keys over, capped so each shard
    /// holds at least 256 entries and 256 KiB. The capacity and the memory
    /// limit are split between them, remainders one unit each to the first
    /// shards, so the totals are exactly `configuration.capacity` and
    /// `configuration.memoryLimit`. Either at 0 caches nothing.
    public init(configuration: CacheConfiguration, shards: Int = 1) {
        let capacity = max(0, configuration.capacity), memoryLimit = max(0, configuration.memoryLimit)
        let shardCount = max(1, min(shards, capacity / Self.minimumShardCapacity, memoryLimit / Self.minimumShardMemory))
        self.capacity = capacity
        self.memoryLimit = memoryLimit
        self.shardCount = shardCount
        self.shards = (0..<shardCount).map { index in
            var share = configuration
            share.capacity = Self.share(of: capacity, shard: index, among: shardCount)
            share.memoryLimit = Self.share(of: memoryLimit, shard: index, among: shardCount)
            return Shard(state: CacheShard(configuration: share))
        }
    }

    private static func share(of total: Int, shard index: Int, among count: Int) -> Int {
        total / count + (index < total % count ? 1 : 0)
    }

    /// TTL policy may change at run time; `capacity` and `memoryLimit` are
    /// fixed at creation, and new values for them are ignored. Set shard by
    /// shard: a lookup on another thread meanwhile may see either policy.
    public internal(set) var configuration: CacheConfiguration {
        get {
            var configuration = shards[0].lock.withLock { shards[0].state.configuration }
            configuration.capacity = capacity
            configuration.memoryLimit = memoryLimit
            return configuration
        }
        set {
            for shard in shards {
                shard.lock.withLock {
                    var share = newValue
                    share.capacity = shard.state.configuration.capacity
                    share.memoryLimit = shard.state.configuration.memoryLimit
                    shard.state.configuration = share
                }
            }
        }
    }

    /// Each shard's capacity, in shard order.
    var shardCapacities: [Int] { shards.map { shard in shard.lock.withLock { shard.state.configuration.capacity } } }

    /// Each shard's memory share and what it holds, in shard order.
    var shardMemory: [(used: Int, limit: Int)] {
        shards.map { shard in shard.lock.withLock { (shard.state.memoryUsed, shard.state.configuration.memoryLimit) } }
    }

    // MARK: One key: its shard's lock only

    /// Which of `count` shards holds a key with `hash`: multiply-shift, so the
    /// choice comes from the hash's high bits. `CacheIndex` picks buckets from
    /// the low bits; taking those here (`hash % count`) would leave each
    /// shard's keys sharing their low bits and crowd them into a fraction of
    /// its buckets.
    @inline(__always)
    static func shardIndex(of hash: UInt32, among count: Int) -> Int {
        Int(truncatingIfNeeded: (UInt64(hash) &* UInt64(count)) >> 32)
    }

    @inline(__always)
    private func shard(for hash: UInt32) -> Shard {
        shards[Self.shardIndex(of: hash, among: shardCount)]
    }

    /// `claimingPrefetch`: a fresh hit may claim the entry's refresh (`PrefetchRule`).
    func lookup(_ key: CacheKey, now: MonotonicInstant, claimingPrefetch: Bool = false) -> Lookup {
        let hash = CacheEntry.hash(key)
        let shard = shard(for: hash)
        return shard.lock.withLock { shard.state.lookup(key, hash: hash, now: now, claimingPrefetch: claimingPrefetch) }
    }

    /// The cache-hit fast path under one lock acquisition: finds the fresh
    /// entry for `key`, runs `body` on it (render the reply; the entry is
    /// valid to read in full there), and counts the hit only if `body`
    /// returns non-nil. Nil and nothing counted when there is no fresh entry,
    /// so the caller's slow path counts that query once. `body` runs under
    /// the shard's lock: it must not call back into this cache.
    @inline(__always)
    func withFreshEntry<Result>(for key: CacheKey, now: MonotonicInstant,
                                _ body: (CacheEntry) -> Result?) -> Result? {
        let hash = CacheEntry.hash(key)
        let shard = shard(for: hash)
        return shard.lock.withLock {
            guard let entry = shard.state.freshEntry(for: key, hash: hash, now: now),
                  let result = body(entry) else { return nil }
            shard.state.countHit(entry)
            return result
        }
    }

    /// Counts a stale answer actually sent.
    public func recordStaleHit(_ key: CacheKey) {
        let hash = CacheEntry.hash(key)
        let shard = shard(for: hash)
        shard.lock.withLock { shard.state.recordStaleHit(key, hash: hash) }
    }

    /// Marks `key` as having failed upstream: serve its stale copy at once until `until`.
    public func markServeStale(_ key: CacheKey, until: MonotonicInstant) {
        let hash = CacheEntry.hash(key)
        let shard = shard(for: hash)
        shard.lock.withLock { shard.state.markServeStale(key, hash: hash, until: until) }
    }

    public func insert(_ answer: CachedAnswer, for key: CacheKey, now: MonotonicInstant) {
        guard capacity > 0, memoryLimit > 0 else { return }
        let hash = CacheEntry.hash(key)
        // Made before locking: the allocation and copy need no lock.
        guard let entry = CacheEntry.make(key: key, hash: hash, answer: answer) else { return }
        let shard = shard(for: hash)
        shard.lock.withLock { shard.state.insert(entry, for: key, now: now) }
    }

    /// Removes one key; true if it was there.
    @discardableResult
    public func remove(_ key: CacheKey) -> Bool {
        let hash = CacheEntry.hash(key)
        let shard = shard(for: hash)
        return shard.lock.withLock { shard.state.remove(key, hash: hash) }
    }

    /// A copy of the entry for `key` (its answer, hits and serve-stale mark).
    public func entry(for key: CacheKey) -> CachedAnswer? {
        let hash = CacheEntry.hash(key)
        let shard = shard(for: hash)
        return shard.lock.withLock { shard.state.entry(for: key, hash: hash) }
    }

    // MARK: Whole cache: one shard's lock at a time

    public var count: Int { sum { $0.count } }

    /// Wire bytes held, for stats.
    public var bytes: Int { sum { $0.bytes } }

    /// Memory the entries take, overhead included (`CacheEntry.memoryCost`):
    /// what `configuration.memoryLimit` bounds.
    public var memoryUsed: Int { sum { $0.memoryUsed } }

    public var counters: Counters {
        shards.reduce(Counters()) { total, shard in total + shard.lock.withLock { shard.state.counters } }
    }

    /// Removes every entry whose name is `name` (lowercased wire) or, with
    /// `subtree`, below it. Returns how many went.
    @discardableResult
    public func remove(name: [UInt8], subtree: Bool) -> Int {
        name.withUnsafeBytes { wanted in sum { $0.remove(name: wanted, subtree: subtree) } }
    }

    public func removeAll() {
        for shard in shards { shard.lock.withLock { shard.state.removeAll() } }
    }

    /// Every entry, for inspection (dump, lookup). `body` runs outside the
    /// locks, on copies taken a shard at a time, so it may use the cache.
    public func forEach(_ body: (CacheKey, CachedAnswer) -> Void) {
        for shard in shards {
            for (key, answer) in shard.lock.withLock({ shard.state.answers }) { body(key, answer) }
        }
    }

    /// Every key, for a dump that proceeds in chunks between packets.
    public var keys: [CacheKey] {
        shards.flatMap { shard in shard.lock.withLock { shard.state.keys } }
    }

    private func sum(_ part: (CacheShard) -> Int) -> Int {
        shards.reduce(0) { total, shard in total + shard.lock.withLock { part(shard.state) } }
    }
}
