/// The answer cache: a fixed number of slots evicted with CLOCK (second chance).
///
/// Why CLOCK: a hit only sets a bit in the slot, with no list to relink, so the
/// hit path stays cheap and later sharding needs no lock around an LRU list;
/// it approximates LRU well for DNS's skewed popularity. An entry past its
/// expiry (and serve-stale window) gets no second chance when the hand reaches it.
public final class DNSCache {
    public struct Counters: Sendable {
        public var hits = 0
        public var staleHits = 0
        public var misses = 0
        public var insertions = 0
        public var evictions = 0
        public var expired = 0
    }

    /// The entry itself, read in place: a copy of its answer would allocate.
    enum Lookup {
        case fresh(CacheEntry)
        /// Expired, but within the serve-stale window.
        case stale(CacheEntry)
        case miss
    }

    /// TTL policy may change at run time; `capacity` is fixed at creation.
    public internal(set) var configuration: CacheConfiguration
    public private(set) var counters = Counters()
    /// Entries by position; `index` maps a key's hash to positions here.
    private var slots: [CacheEntry?] = []
    private var index = CacheIndex()
    private var freeSlots: [Int] = []
    private var hand = 0
    /// Wire bytes held, for stats.
    public private(set) var bytes = 0

    public init(configuration: CacheConfiguration) {
        self.configuration = configuration
    }

    public var count: Int { index.count }

    func lookup(_ key: CacheKey, now: ContinuousClock.Instant) -> Lookup {
        guard let position = position(of: key), let entry = slots[position] else {
            counters.misses += 1
            return .miss
        }
        if entry.isFresh(at: now) {
            countHit(entry)
            return .fresh(entry)
        }
        if isServable(entry, now: now) {
            counters.misses += 1
            return .stale(entry)
        }
        remove(at: position)
        counters.expired += 1
        counters.misses += 1
        return .miss
    }

    /// The fresh entry for `key`, without counting anything: the fast path
    /// counts the hit with `countHit` only once its reply is written, and
    /// leaves every other case to `lookup`. The entry itself, read in place.
    func freshEntry(for key: CacheKey, now: ContinuousClock.Instant) -> CacheEntry? {
        guard let position = position(of: key), let entry = slots[position], entry.isFresh(at: now) else { return nil }
        return entry
    }

    func countHit(_ entry: CacheEntry) {
        entry.header.referenced = true
        entry.header.hits &+= 1
        counters.hits += 1
    }

    /// Counts a stale answer actually sent.
    public func recordStaleHit(_ key: CacheKey) {
        guard let position = position(of: key), let entry = slots[position] else { return }
        entry.header.hits &+= 1
        counters.staleHits += 1
    }

    /// Marks `key` as having failed upstream: serve its stale copy at once until `until`.
    public func markServeStale(_ key: CacheKey, until: ContinuousClock.Instant) {
        guard let position = position(of: key), let entry = slots[position] else { return }
        entry.serveStaleUntil = until
    }

    public func insert(_ answer: CachedAnswer, for key: CacheKey, now: ContinuousClock.Instant) {
        guard configuration.capacity > 0 else { return }
        let hash = CacheEntry.hash(key)
        guard let entry = CacheEntry.make(key: key, hash: hash, answer: answer) else { return }
        counters.insertions += 1
        if let position = position(of: key, hash: hash) {
            bytes += entry.wireCount - (slots[position]?.wireCount ?? 0)
            slots[position] = entry
            return
        }
        let position: Int
        if let free = freeSlots.popLast() {
            position = free
        } else if slots.count < configuration.capacity {
            position = slots.count
            slots.append(nil)
        } else {
            position = evictOne(now: now)
        }
        slots[position] = entry
        index.insert(hash: hash, position: position)
        bytes += entry.wireCount
    }

    /// Removes one key; true if it was there.
    @discardableResult
    public func remove(_ key: CacheKey) -> Bool {
        guard let position = position(of: key) else { return false }
        remove(at: position)
        return true
    }

    /// Removes every entry whose name is `name` (lowercased wire) or, with
    /// `subtree`, below it. Returns how many went.
    @discardableResult
    public func remove(name: [UInt8], subtree: Bool) -> Int {
        var removed = 0
        name.withUnsafeBytes { wanted in
            for position in slots.indices {
                guard let entry = slots[position] else { continue }
                let hit = entry.withName { subtree ? CacheKey.isName($0, atOrBelow: wanted) : $0.elementsEqual(wanted) }
                if hit {
                    remove(at: position)
                    removed += 1
                }
            }
        }
        return removed
    }

    public func removeAll() {
        slots.removeAll()
        index.removeAll()
        freeSlots.removeAll()
        hand = 0
        bytes = 0
    }

    /// Every entry, for inspection (dump, lookup).
    public func forEach(_ body: (CacheKey, CachedAnswer) -> Void) {
        for case let entry? in slots { body(entry.key, entry.answer) }
    }

    /// Every key, for a dump that proceeds in chunks between packets.
    public var keys: [CacheKey] { slots.compactMap { $0?.key } }

    public func entry(for key: CacheKey) -> CachedAnswer? {
        position(of: key).flatMap { slots[$0]?.answer }
    }

    private func position(of key: CacheKey) -> Int? {
        position(of: key, hash: CacheEntry.hash(key))
    }

    private func position(of key: CacheKey, hash: UInt32) -> Int? {
        let slots = self.slots
        return index.find(hash: hash) { slots[$0]?.matches(key) ?? false }
    }

    private func isServable(_ entry: CacheEntry, now: ContinuousClock.Instant) -> Bool {
        configuration.serveStale > 0 && entry.header.kind != .serverFailure
            && now < entry.expiresAt + .seconds(Int64(configuration.serveStale))
    }

    private func remove(at position: Int) {
        guard let entry = slots[position] else { return }
        index.remove(hash: entry.header.hash, position: position)
        bytes -= entry.wireCount
        slots[position] = nil
        freeSlots.append(position)
    }

    /// Advances the hand to a victim and frees its slot. Every slot is full here.
    private func evictOne(now: ContinuousClock.Instant) -> Int {
        while true {
            let position = hand
            hand = (hand + 1) % slots.count
            guard let entry = slots[position] else { return position }
            let dead = !entry.isFresh(at: now) && !isServable(entry, now: now)
            if entry.header.referenced && !dead {
                entry.header.referenced = false
                continue
            }
            remove(at: position)
            _ = freeSlots.popLast()
            if dead { counters.expired += 1 } else { counters.evictions += 1 }
            return position
        }
    }
}
