/// The cache's hash index: open addressing with linear probing from a key's
/// 32-bit hash to its slot position, 8 bytes per bucket (hash, position + 1;
/// 0 is empty), at most 3/4 full.
///
/// Why not `[CacheKey: Int]`: the dictionary held a second copy of every
/// key's name (an array of its own) and ~35 bytes of bucket. Here the key
/// lives only in its entry; the caller compares candidates there, and the
/// stored hash filters nearly all of them out first. Deletion shifts later
/// buckets back (no tombstones), so probes stay short under constant churn.
struct CacheIndex {
    private var buckets: [UInt64]
    private var mask: Int
    private(set) var count = 0

    init() {
        buckets = [UInt64](repeating: 0, count: Self.initialBuckets)
        mask = Self.initialBuckets - 1
    }

    private static let initialBuckets = 16

    /// The position of the entry with `hash` for which `matches` holds.
    /// Inlined so `matches` is too: this runs on every cache hit.
    @inline(__always)
    func find(hash: UInt32, where matches: (Int) -> Bool) -> Int? {
        var bucket = Int(hash) & mask
        while true {
            let value = buckets[bucket]
            if value == 0 { return nil }
            if UInt32(truncatingIfNeeded: value >> 32) == hash, matches(Self.position(value)) {
                return Self.position(value)
            }
            bucket = (bucket + 1) & mask
        }
    }

    /// Files `position` under `hash`; the caller has checked that its key is not here.
    mutating func insert(hash: UInt32, position: Int) {
        precondition(position >= 0 && position < Int(UInt32.max), "cache position out of range")
        if (count + 1) * 4 > buckets.count * 3 { grow() }
        place(UInt64(hash) << 32 | UInt64(position + 1))
        count += 1
    }

    /// Removes the bucket holding `position`, filed under `hash`.
    mutating func remove(hash: UInt32, position: Int) {
        let wanted = UInt64(hash) << 32 | UInt64(position + 1)
        var hole = Int(hash) & mask
        while buckets[hole] != wanted {
            guard buckets[hole] != 0 else { return }
            hole = (hole + 1) & mask
        }
        // Backward shift: move each later bucket of the run whose home is not
        // between the hole and it into the hole, so no probe stops early.
        var next = hole
        while true {
            next = (next + 1) & mask
            let value = buckets[next]
            if value == 0 { break }
            let home = Int(UInt32(truncatingIfNeeded: value >> 32)) & mask
            let homeIsBetween = hole <= next ? (hole < home && home <= next) : (hole < home || home <= next)
            if homeIsBetween { continue }
            buckets[hole] = value
            hole = next
        }
        buckets[hole] = 0
        count -= 1
    }

    mutating func removeAll() {
        self = CacheIndex()
    }

    private mutating func grow() {
        let old = buckets
        buckets = [UInt64](repeating: 0, count: old.count * 2)
        mask = buckets.count - 1
        for value in old where value != 0 { place(value) }
    }

    private mutating func place(_ value: UInt64) {
        var bucket = Int(UInt32(truncatingIfNeeded: value >> 32)) & mask
        while buckets[bucket] != 0 { bucket = (bucket + 1) & mask }
        buckets[bucket] = value
    }

    private static func position(_ value: UInt64) -> Int { Int(UInt32(truncatingIfNeeded: value)) - 1 }
}
