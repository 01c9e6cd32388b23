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

    public enum Lookup {
        case fresh(CachedAnswer)
        /// Expired, but within the serve-stale window.
        case stale(CachedAnswer)
        case miss
    }

    /// A class, not a struct, and the answer a `let`: a hit reads the stored
    /// answer in place and marks and counts through one reference, where
    /// copying the answer out (and back) retains every array in it. What
    /// changes after insertion lives here, not in the answer.
    final class Slot {
        let key: CacheKey
        let answer: CachedAnswer
        var referenced = false
        var hits = 0
        var serveStaleUntil: ContinuousClock.Instant?

        init(key: CacheKey, answer: CachedAnswer) {
            self.key = key
            self.answer = answer
        }

        /// The answer with what changed since insertion, for callers outside the hit path.
        var current: CachedAnswer {
            var copy = answer
            copy.hits = hits
            copy.serveStaleUntil = serveStaleUntil
            return copy
        }
    }

    /// TTL policy may change at run time; `capacity` is fixed at creation.
    public internal(set) var configuration: CacheConfiguration
    public private(set) var counters = Counters()
    private var slots: [Slot?] = []
    private var index: [CacheKey: Int] = [:]
    private var freeSlots: [Int] = []
    private var hand = 0
    /// Wire bytes held, for stats.
    public private(set) var bytes = 0

    public init(configuration: CacheConfiguration) {
        self.configuration = configuration
    }

    public var count: Int { index.count }

    public func lookup(_ key: CacheKey, now: ContinuousClock.Instant) -> Lookup {
        guard let position = index[key], let slot = slots[position] else {
            counters.misses += 1
            return .miss
        }
        if slot.answer.isFresh(at: now) {
            slot.referenced = true
            slot.hits += 1
            counters.hits += 1
            return .fresh(slot.current)
        }
        if isServable(slot.answer, now: now) {
            counters.misses += 1
            return .stale(slot.current)
        }
        remove(at: position)
        counters.expired += 1
        counters.misses += 1
        return .miss
    }

    /// The fresh entry for `key`, without counting anything: the fast path
    /// counts the hit with `countHit` only once
    /// its reply is written, and leaves every other case to `lookup`.
    /// The entry itself, not a copy of its answer: copying the struct out
    /// retains every array in it.
    func freshEntry(for key: CacheKey, now: ContinuousClock.Instant) -> Slot? {
        guard let position = index[key], let slot = slots[position], slot.answer.isFresh(at: now) else { return nil }
        return slot
    }

    func countHit(_ slot: Slot) {
        slot.referenced = true
        slot.hits += 1
        counters.hits += 1
    }

    /// Counts a stale answer actually sent.
    public func recordStaleHit(_ key: CacheKey) {
        guard let position = index[key], let slot = slots[position] else { return }
        slot.hits += 1
        counters.staleHits += 1
    }

    /// Marks `key` as having failed upstream: serve its stale copy at once until `until`.
    public func markServeStale(_ key: CacheKey, until: ContinuousClock.Instant) {
        guard let position = index[key], let slot = slots[position] else { return }
        slot.serveStaleUntil = until
    }

    public func insert(_ answer: CachedAnswer, for key: CacheKey, now: ContinuousClock.Instant) {
        guard configuration.capacity > 0 else { return }
        counters.insertions += 1
        if let position = index[key] {
            bytes += answer.wire.count - (slots[position]?.answer.wire.count ?? 0)
            slots[position] = Slot(key: key, answer: answer)
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
        slots[position] = Slot(key: key, answer: answer)
        index[key] = position
        bytes += answer.wire.count
    }

    /// Removes one key; true if it was there.
    @discardableResult
    public func remove(_ key: CacheKey) -> Bool {
        guard let position = index[key] else { return false }
        remove(at: position)
        return true
    }

    /// Removes every entry whose name is `name` (lowercased wire) or, with
    /// `subtree`, below it. Returns how many went.
    @discardableResult
    public func remove(name: [UInt8], subtree: Bool) -> Int {
        let victims = index.filter { key, _ in subtree ? key.isAtOrBelow(name) : key.name == name }
        for (_, position) in victims { remove(at: position) }
        return victims.count
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
        for case let slot? in slots { body(slot.key, slot.current) }
    }

    /// Every key, for a dump that proceeds in chunks between packets.
    public var keys: [CacheKey] { Array(index.keys) }

    public func entry(for key: CacheKey) -> CachedAnswer? {
        index[key].flatMap { slots[$0]?.current }
    }

    private func isServable(_ answer: CachedAnswer, now: ContinuousClock.Instant) -> Bool {
        configuration.serveStale > 0 && answer.kind != .serverFailure
            && now < answer.expiresAt + .seconds(Int64(configuration.serveStale))
    }

    private func remove(at position: Int) {
        guard let slot = slots[position] else { return }
        index[slot.key] = nil
        bytes -= slot.answer.wire.count
        slots[position] = nil
        freeSlots.append(position)
    }

    /// Advances the hand to a victim and frees its slot. Every slot is full here.
    private func evictOne(now: ContinuousClock.Instant) -> Int {
        while true {
            let position = hand
            hand = (hand + 1) % slots.count
            guard let slot = slots[position] else { return position }
            let dead = !slot.answer.isFresh(at: now) && !isServable(slot.answer, now: now)
            if slot.referenced && !dead {
                slot.referenced = false
                continue
            }
            remove(at: position)
            _ = freeSlots.popLast()
            if dead { counters.expired += 1 } else { counters.evictions += 1 }
            return position
        }
    }
}
