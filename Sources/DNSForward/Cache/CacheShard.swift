/// One shard of the answer cache: at most `capacity` slots and
/// `memoryLimit` bytes, evicted with CLOCK (second chance). Not thread-safe: `DNSCache` holds each shard behind its
/// own lock and calls in here only while holding it.
///
/// Why CLOCK: a hit only sets a bit in the slot, with no list to relink, so the
/// hit path stays cheap and no lock is held to reorder a list; it approximates
/// LRU well for DNS's skewed popularity. An entry past its expiry (and
/// serve-stale window) gets no second chance when the hand reaches it.
///
/// Methods take the key's hash from the caller, which computed it once to
/// choose this shard.
final class CacheShard {
    /// TTL policy may change at run time; `capacity` and `memoryLimit` are this
    /// shard's shares, fixed at creation.
    var configuration: CacheConfiguration
    private(set) var counters = DNSCache.Counters()
    /// Entries by position; `index` maps a key's hash to positions here.
    private var slots: [CacheEntry?] = []
    private var index = CacheIndex()
    private var freeSlots: [Int] = []
    private var hand = 0
    /// Wire bytes held, for stats.
    private(set) var bytes = 0
    /// What the entries take in memory (`CacheEntry.memoryCost`), kept within
    /// `configuration.memoryLimit`.
    private(set) var memoryUsed = 0

    init(configuration: CacheConfiguration) {
        self.configuration = configuration
    }

    var count: Int { index.count }

    /// `claimingPrefetch`: a fresh hit also tries `CacheEntry.claimPrefetch`.
    func lookup(_ key: CacheKey, hash: UInt32, now: MonotonicInstant, claimingPrefetch: Bool) -> DNSCache.Lookup {
        guard let position = position(of: key, hash: hash), let entry = slots[position] else {
            counters.misses += 1
            return .miss
        }
        if entry.isFresh(at: now) {
            countHit(entry)
            return .fresh(entry, prefetch: claimingPrefetch && entry.claimPrefetch(age: entry.age(at: now), hits: entry.hits))
        }
        if isServable(entry, now: now) {
            counters.misses += 1
            return .stale(entry, serveStaleUntil: entry.serveStaleUntil)
        }
        remove(at: position)
        counters.expired += 1
        counters.misses += 1
        return .miss
    }

    /// The fresh entry for `key`, without counting anything: the fast path
    /// counts the hit with `countHit` only once its reply is written, and
    /// leaves every other case to `lookup`. The entry itself, read in place.
    func freshEntry(for key: CacheKey, hash: UInt32, now: MonotonicInstant) -> CacheEntry? {
        guard let position = position(of: key, hash: hash), let entry = slots[position], entry.isFresh(at: now) else {
            return nil
        }
        return entry
    }

    func countHit(_ entry: CacheEntry) {
        entry.referenced = true
        entry.countHit()
        counters.hits += 1
    }

    /// Counts a stale answer actually sent.
    func recordStaleHit(_ key: CacheKey, hash: UInt32) {
        guard let position = position(of: key, hash: hash), let entry = slots[position] else { return }
        entry.countHit()
        counters.staleHits += 1
    }

    /// Marks `key` as having failed upstream: serve its stale copy at once until `until`.
    func markServeStale(_ key: CacheKey, hash: UInt32, until: MonotonicInstant) {
        guard let position = position(of: key, hash: hash), let entry = slots[position] else { return }
        entry.serveStaleUntil = until
    }

    /// Stores `entry`, made for `key`, replacing any entry for that key, after
    /// evicting by CLOCK until it fits both the entry cap and this shard's
    /// memory share. An entry larger than the whole share is not stored (and
    /// an older entry for its key goes): it would evict everything else.
    /// The caller made it outside the lock, and checked that the cache holds
    /// anything at all (capacity and memory limit > 0).
    func insert(_ entry: CacheEntry, for key: CacheKey, now: MonotonicInstant) {
        let hash = entry.hash, cost = entry.memoryCost
        if let position = position(of: key, hash: hash) { remove(at: position) }
        guard cost <= configuration.memoryLimit else {
            counters.oversized += 1
            return
        }
        counters.insertions += 1
        while memoryUsed + cost > configuration.memoryLimit, evictOne(now: now) {}
        if freeSlots.isEmpty, slots.count < configuration.capacity {
            freeSlots.append(slots.count)
            slots.append(nil)
        } else if freeSlots.isEmpty {
            evictOne(now: now)
        }
        let position = freeSlots.removeLast()
        slots[position] = entry
        index.insert(hash: hash, position: position)
        bytes += entry.wireCount
        memoryUsed += cost
    }

    /// Removes one key; true if it was there.
    func remove(_ key: CacheKey, hash: UInt32) -> Bool {
        guard let position = position(of: key, hash: hash) else { return false }
        remove(at: position)
        return true
    }

    /// Removes every entry whose name is `name` (lowercased wire) or, with
    /// `subtree`, below it. Returns how many went.
    func remove(name: UnsafeRawBufferPointer, subtree: Bool) -> Int {
        var removed = 0
        for position in slots.indices {
            guard let entry = slots[position] else { continue }
            let hit = entry.withName { subtree ? CacheKey.isName($0, atOrBelow: name) : $0.elementsEqual(name) }
            if hit {
                remove(at: position)
                removed += 1
            }
        }
        return removed
    }

    func removeAll() {
        slots.removeAll()
        index.removeAll()
        freeSlots.removeAll()
        hand = 0
        bytes = 0
        memoryUsed = 0
    }

    /// Every entry as a value copy, in slot order.
    var answers: [(CacheKey, CachedAnswer)] {
        slots.compactMap { $0.map { ($0.key, $0.answer) } }
    }

    var keys: [CacheKey] { slots.compactMap { $0?.key } }

    /// Appends the entries of at most `limit` slots from `start` to `items`,
    /// with their mutable fields as they are now; returns where the next
    /// chunk starts, nil past the last slot. Chunks keep each lock short.
    func snapshot(from start: Int, limit: Int, into items: inout [CacheSnapshot.Item]) -> Int? {
        let end = min(slots.count, start + limit)
        guard start < end else { return nil }
        for position in start..<end {
            // Routed answers stay out of the file: their upstream sets are numbered
            // by this run's configuration, which the next run may not share.
            guard let entry = slots[position], !entry.isScoped else { continue }
            items.append(CacheSnapshot.Item(entry: entry, hits: entry.hits, referenced: entry.referenced,
                                            keyFlags: entry.keyFlags))
        }
        return end < slots.count ? end : nil
    }

    func entry(for key: CacheKey, hash: UInt32) -> CachedAnswer? {
        position(of: key, hash: hash).flatMap { slots[$0]?.answer }
    }

    private func position(of key: CacheKey, hash: UInt32) -> Int? {
        let slots = self.slots
        return index.find(hash: hash) { slots[$0]?.matches(key) ?? false }
    }

    private func isServable(_ entry: CacheEntry, now: MonotonicInstant) -> Bool {
        configuration.serveStale > 0 && entry.kind != .serverFailure
            && now < entry.expiresAt + .seconds(Int64(configuration.serveStale))
    }

    private func remove(at position: Int) {
        guard let entry = slots[position] else { return }
        index.remove(hash: entry.hash, position: position)
        bytes -= entry.wireCount
        memoryUsed -= entry.memoryCost
        slots[position] = nil
        freeSlots.append(position)
    }

    /// Advances the hand to a victim and removes it, its slot going to
    /// `freeSlots`. False when the shard holds nothing.
    @discardableResult
    private func evictOne(now: MonotonicInstant) -> Bool {
        guard index.count > 0 else { return false }
        while true {
            let position = hand
            hand = (hand + 1) % slots.count
            guard let entry = slots[position] else { continue }
            let dead = !entry.isFresh(at: now) && !isServable(entry, now: now)
            if entry.referenced && !dead {
                entry.referenced = false
                continue
            }
            remove(at: position)
            if dead { counters.expired += 1 } else { counters.evictions += 1 }
            return true
        }
    }
}
