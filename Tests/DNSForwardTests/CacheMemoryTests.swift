import Testing
@testable import DNSForward

/// glibc's, which the Glibc module does not export (malloc.h is not in its map).
@_silgen_name("malloc_usable_size")
private func mallocUsableSize(_ pointer: UnsafeMutableRawPointer) -> Int

/// The cache bounded by bytes (`--cache-memory`): what an entry costs, CLOCK
/// eviction until under budget, answers too large for it, shares per shard.
@Suite("Cache memory budget")
struct CacheMemoryTests {
    typealias W = WireFixtures
    typealias S = ShardedCacheTests

    static func configuration(capacity: Int = 100_000, memoryLimit: Int) -> CacheConfiguration {
        var configuration = S.configuration(capacity: capacity)
        configuration.memoryLimit = memoryLimit
        return configuration
    }

    /// A positive answer of `records` TXT records of 200 octets each.
    static func bigAnswer(_ name: String, records: Int, at now: MonotonicInstant) -> CachedAnswer {
        let text = [UInt8(199)] + Array(repeating: UInt8(ascii: "x"), count: 199)
        let wire = W.response(id: 0, name: name, type: 16, answers: Array(repeating: text, count: records), ttl: 3600)
        let layout = wire.withUnsafeBytes { MessageLayout(wire: $0) }!
        return CachedAnswer(wire: wire, layout: layout, kind: .positive, storedAt: now, lifetime: 3600, upstream: 0)
    }

    static func cost(_ name: String, _ answer: CachedAnswer) -> Int {
        CacheEntry.memoryCost(of: answer, key: S.key(name, type: .txt))
    }

    @Test func entryCostIsItsMallocChunkPlusSlotAndIndex() throws {
        let now = MonotonicInstant.now
        for records in [1, 5, 40] {
            let answer = Self.bigAnswer("measure.test", records: records, at: now)
            let key = S.key("measure.test", type: .txt)
            let entry = try #require(CacheEntry.make(key: key, hash: CacheEntry.hash(key), answer: answer))
            let usable = mallocUsableSize(Unmanaged.passUnretained(entry).toOpaque())
            // glibc: the chunk is the usable size plus its 8-byte header. A reused free chunk
            // too small to split (remainder under 32 bytes) is handed over whole: 16 more.
            let chunk = CacheEntry.allocationBytes(tailBytes: entry.tailBytes)
            #expect([chunk, chunk + 16].contains(usable + 8), "\(records) records")
            #expect(entry.memoryCost == chunk + 8 + 16)
            #expect(entry.memoryCost == CacheEntry.memoryCost(of: answer, key: key))
        }
        // The figure CacheEntry+MemoryCost.swift quotes: 58 wire bytes, an 18-octet name, 2 TTLs.
        #expect(CacheEntry.memoryCost(tailBytes: 58 + 18 + 4) == 184)
        #expect(MemoryLayout<CacheEntry.Header>.stride == 48, "the header the comments describe")
    }

    @Test func evictsByBytesUntilUnderBudget() {
        let now = MonotonicInstant.now
        let one = Self.cost("n0.test", Self.bigAnswer("n0.test", records: 10, at: now))
        let cache = DNSCache(configuration: Self.configuration(memoryLimit: one * 10 + one / 2))
        for index in 0..<40 {
            let name = "n\(index).test"
            cache.insert(Self.bigAnswer(name, records: 10, at: now), for: S.key(name, type: .txt), now: now)
            #expect(cache.memoryUsed <= cache.configuration.memoryLimit, "after \(index + 1)")
            // Keep n0 referenced: CLOCK gives it its second chance every time round.
            _ = cache.withFreshEntry(for: S.key("n0.test", type: .txt), now: now) { _ in true }
        }
        #expect(cache.count == 10, "ten entries fit, the entry cap is far away")
        #expect(cache.counters.evictions == 30)
        #expect(cache.entry(for: S.key("n0.test", type: .txt)) != nil, "the referenced entry survived")
        #expect(cache.entry(for: S.key("n39.test", type: .txt)) != nil, "the newest is in")
        cache.removeAll()
        #expect(cache.memoryUsed == 0)
    }

    @Test func memoryUsedIsTheSumOfEntryCostsThroughReplaceAndRemove() {
        let now = MonotonicInstant.now
        let cache = DNSCache(configuration: Self.configuration(memoryLimit: 1 << 20))
        let key = S.key("r.test", type: .txt)
        let small = Self.bigAnswer("r.test", records: 1, at: now), large = Self.bigAnswer("r.test", records: 20, at: now)
        cache.insert(small, for: key, now: now)
        #expect(cache.memoryUsed == Self.cost("r.test", small))
        cache.insert(large, for: key, now: now)
        #expect(cache.memoryUsed == Self.cost("r.test", large) && cache.count == 1)
        cache.remove(key)
        #expect(cache.memoryUsed == 0 && cache.bytes == 0)
    }

    @Test func answerLargerThanTheBudgetIsNotCached() {
        let now = MonotonicInstant.now
        let cache = DNSCache(configuration: Self.configuration(memoryLimit: 8 << 10))
        let key = S.key("huge.test", type: .txt)
        cache.insert(Self.bigAnswer("huge.test", records: 2, at: now), for: key, now: now)
        let kept = Self.bigAnswer("kept.test", records: 2, at: now)
        cache.insert(kept, for: S.key("kept.test", type: .txt), now: now)
        #expect(cache.count == 2)
        // 60 records of 200 octets: 12 kB, over the whole 8 KiB budget.
        cache.insert(Self.bigAnswer("huge.test", records: 60, at: now), for: key, now: now)
        #expect(cache.counters.oversized == 1)
        #expect(cache.entry(for: key) == nil, "the older, smaller answer for the key went too")
        #expect(cache.count == 1, "nothing else was evicted for it")
        #expect(cache.memoryUsed == Self.cost("kept.test", kept))
    }

    @Test func zeroBudgetCachesNothing() {
        let now = MonotonicInstant.now
        let cache = DNSCache(configuration: Self.configuration(memoryLimit: 0))
        cache.insert(Self.bigAnswer("z.test", records: 1, at: now), for: S.key("z.test", type: .txt), now: now)
        #expect(cache.count == 0 && cache.memoryUsed == 0)
    }

    @Test("each shard gets its share of the budget; shards keep at least 256 KiB",
          arguments: [(1 << 20, 4, [262_144, 262_144, 262_144, 262_144]), (600_000, 4, [300_000, 300_000]),
                      (100_000, 16, [100_000]), ((1 << 20) + 3, 4, [262_145, 262_145, 262_145, 262_144])])
    func budgetIsSplitOverShards(limit: Int, shards: Int, expected: [Int]) {
        let cache = DNSCache(configuration: Self.configuration(memoryLimit: limit), shards: shards)
        #expect(cache.shardMemory.map(\.limit) == expected)
        #expect(cache.configuration.memoryLimit == limit)
    }

    @Test func everyShardStaysWithinItsShare() {
        let now = MonotonicInstant.now
        let cache = DNSCache(configuration: Self.configuration(memoryLimit: 1 << 20), shards: 4)
        // 600 answers of ~4 kB: about 2.5 MB offered to a 1 MiB budget.
        for index in 0..<600 {
            let name = "s\(index).test"
            cache.insert(Self.bigAnswer(name, records: 20, at: now), for: S.key(name, type: .txt), now: now)
        }
        for shard in cache.shardMemory { #expect(shard.used <= shard.limit && shard.used > shard.limit / 2) }
        #expect(cache.memoryUsed <= 1 << 20)
        #expect(cache.counters.evictions == 600 - cache.count)
    }

    @Test func budgetSurvivesReconfigureButTTLPolicyChanges() {
        let cache = DNSCache(configuration: Self.configuration(memoryLimit: 1 << 20), shards: 4)
        var changed = Self.configuration(memoryLimit: 5)
        changed.maximumTTL = 60
        cache.configuration = changed
        #expect(cache.configuration.memoryLimit == 1 << 20)
        #expect(cache.shardMemory.map(\.limit) == [262_144, 262_144, 262_144, 262_144])
        #expect(cache.configuration.maximumTTL == 60)
    }
}
