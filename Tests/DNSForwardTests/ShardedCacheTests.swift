import Testing
@testable import DNSForward

/// `DNSCache` split over shards: how capacity is shared out, how keys are
/// spread, and that a sharded cache behaves like one dictionary.
@Suite("Cache shards")
struct ShardedCacheTests {
    typealias W = WireFixtures

    static func configuration(capacity: Int, serveStale: UInt32 = 0) -> CacheConfiguration {
        var configuration = CacheConfiguration()
        configuration.capacity = capacity
        configuration.serveStale = serveStale
        return configuration
    }

    static func key(_ name: String, type: RecordType = .a, dnssecOK: Bool = false) -> CacheKey {
        CacheKey(name: W.name(name), type: type, class: 1, dnssecOK: dnssecOK, checkingDisabled: false)
    }

    static func answer(_ name: String, type: UInt16 = 1, addresses: Int = 1, ttl: UInt32 = 3600,
                       at now: MonotonicInstant) -> CachedAnswer {
        // RDATA of the type's size: replies are checked record by record (`RecordDataShape`).
        let address: (Int) -> [UInt8] = type == 28 ? { [0x20, 0x01, 0x0d, 0xb8] + [UInt8](repeating: 0, count: 11) + [UInt8($0)] }
                                                   : { [192, 0, 2, UInt8($0)] }
        let wire = W.response(id: 0, name: name, type: type, answers: (0..<addresses).map(address), ttl: ttl)
        let layout = wire.withUnsafeBytes { MessageLayout(wire: $0) }!
        return CachedAnswer(wire: wire, layout: layout, kind: .positive, storedAt: now, lifetime: ttl, upstream: 0)
    }

    @Test("capacity is split exactly, remainder one each to the first shards",
          arguments: [(4096, 4, [1024, 1024, 1024, 1024]), (4099, 4, [1025, 1025, 1025, 1024]),
                      (1000, 4, [334, 333, 333]), (300, 8, [300]), (100_000, 1, [100_000]),
                      (511, 2, [511]), (512, 2, [256, 256]), (0, 4, [0]), (4096, 0, [4096]), (4096, -3, [4096])])
    func capacityIsSplitExactly(capacity: Int, shards: Int, expected: [Int]) {
        let cache = DNSCache(configuration: Self.configuration(capacity: capacity), shards: shards)
        #expect(cache.shardCount == expected.count)
        #expect(cache.shardCapacities == expected)
        #expect(cache.shardCapacities.reduce(0, +) == capacity)
        #expect(cache.configuration.capacity == capacity, "the whole cache's capacity, not one shard's")
    }

    @Test func zeroCapacityCachesNothing() {
        let cache = DNSCache(configuration: Self.configuration(capacity: 0), shards: 4)
        let now = MonotonicInstant.now
        cache.insert(Self.answer("a.test", at: now), for: Self.key("a.test"), now: now)
        #expect(cache.count == 0 && cache.bytes == 0 && cache.counters.insertions == 0)
    }

    /// Every shard fills to its share and no further: the total stays at the
    /// capacity, and only the excess is evicted.
    @Test func fullCacheHoldsExactlyItsCapacityAcrossShards() {
        let cache = DNSCache(configuration: Self.configuration(capacity: 1027), shards: 4)
        #expect(cache.shardCount == 4)
        let now = MonotonicInstant.now
        for index in 0..<5000 {
            let name = "n\(index).fill.test"
            cache.insert(Self.answer(name, at: now), for: Self.key(name), now: now)
            #expect(cache.count <= 1027)
        }
        #expect(cache.count == 1027, "every shard full: keys reached them all")
        #expect(cache.keys.count == 1027)
        #expect(cache.counters.evictions == 5000 - 1027)
    }

    /// The shard comes from bits the index does not use: within each shard the
    /// low bits, which pick index buckets, still take nearly every value.
    @Test func shardChoiceLeavesTheIndexBitsSpread() {
        let shards = 4
        var lowBytesSeen = [Set<UInt32>](repeating: [], count: shards)
        for index in 0..<4096 {
            let hash = CacheEntry.hash(Self.key("n\(index).spread.test"))
            lowBytesSeen[DNSCache.shardIndex(of: hash, among: shards)].insert(hash & 0xFF)
        }
        for (shard, seen) in lowBytesSeen.enumerated() {
            // ~1024 keys over 256 values leave ~5 unseen; keys chosen by their low bits would see 64.
            #expect(seen.count > 230, "shard \(shard) sees \(seen.count) of 256 low-byte values")
        }
    }

    /// A new policy reaches every shard; a new capacity is ignored.
    @Test func settingTheConfigurationReachesEveryShardAndKeepsCapacity() {
        let cache = DNSCache(configuration: Self.configuration(capacity: 2048), shards: 8)
        #expect(cache.shardCount == 8)
        let now = MonotonicInstant.now
        let names = (0..<200).map { "n\($0).policy.test" }
        for name in names { cache.insert(Self.answer(name, ttl: 1, at: now), for: Self.key(name), now: now) }
        cache.configuration = Self.configuration(capacity: 5, serveStale: 60)
        #expect(cache.configuration.serveStale == 60)
        #expect(cache.configuration.capacity == 2048)
        #expect(cache.shardCapacities == Array(repeating: 256, count: 8))
        let later = now + .seconds(5)
        for name in names {
            guard case .stale = cache.lookup(Self.key(name), now: later) else {
                Issue.record("\(name): expired entry not served stale")
                continue
            }
        }
    }

    /// The same random operations on a four-shard cache (large enough that
    /// nothing is evicted) and on a dictionary agree at every step.
    @Test func fourShardsBehaveLikeOneDictionary() throws {
        let cache = DNSCache(configuration: Self.configuration(capacity: 4096), shards: 4)
        #expect(cache.shardCount == 4)
        var model: [CacheKey: [UInt8]] = [:]
        var generator = SplitMix64(seed: 0x5A4D)
        let now = MonotonicInstant.now
        // Names three deep, so flushing a name and a subtree remove different sets.
        let zones = (0..<6).map { "z\($0).test" }
        let names = zones + zones.flatMap { zone in (0..<12).map { "h\($0).\(zone)" } }
            + zones.flatMap { zone in (0..<6).map { "x.h\($0).\(zone)" } }
        var inserts = 0, hits = 0, misses = 0

        func randomKey() -> (name: String, key: CacheKey) {
            let name = names.randomElement(using: &generator)!
            return (name, Self.key(name, type: Bool.random(using: &generator) ? 1 : 28,
                                   dnssecOK: Bool.random(using: &generator)))
        }

        for step in 0..<4000 {
            let roll = Int.random(in: 0..<1000, using: &generator)
            switch roll {
            case 0..<400:
                let (name, key) = randomKey()
                let answer = Self.answer(name, type: key.type.rawValue, addresses: Int.random(in: 1...3, using: &generator),
                                         at: now)
                cache.insert(answer, for: key, now: now)
                model[key] = answer.wire
                inserts += 1
            case 400..<550:
                let key = randomKey().key
                switch cache.lookup(key, now: now) {
                case .fresh(let entry, _):
                    hits += 1
                    #expect(entry.withParts { Array($0.wire) } == model[key], "step \(step): \(key)")
                case .miss:
                    misses += 1
                    #expect(model[key] == nil, "step \(step): \(key) missed")
                case .stale:
                    Issue.record("step \(step): nothing is stale here")
                }
            case 550..<700:
                let key = randomKey().key
                let wire = cache.withFreshEntry(for: key, now: now) { entry in entry.withParts { Array($0.wire) } }
                if wire != nil { hits += 1 }
                #expect(wire == model[key], "step \(step): \(key) on the fast path")
            case 700..<850:
                let key = randomKey().key
                #expect(cache.remove(key) == (model.removeValue(forKey: key) != nil), "step \(step): remove \(key)")
            case 850..<900:
                let name = W.name(names.randomElement(using: &generator)!)
                let subtree = Bool.random(using: &generator)
                let going = model.keys.filter { subtree ? $0.isAtOrBelow(name) : $0.name == name }
                for key in going { model[key] = nil }
                #expect(cache.remove(name: name, subtree: subtree) == going.count, "step \(step)")
            default:
                // Every 1000 steps rather than at random, so the run ends with a full model.
                if step % 1000 == 999 {
                    cache.removeAll()
                    model.removeAll()
                }
            }
            #expect(cache.count == model.count, "step \(step)")
            #expect(cache.bytes == model.values.reduce(0) { $0 + $1.count }, "step \(step)")
            if step % 20 == 0 {
                let keys = cache.keys
                #expect(keys.count == model.count && Set(keys) == Set(model.keys), "step \(step)")
            }
        }
        #expect(model.count > 100, "the run left a cache worth comparing")
        for (key, wire) in model { #expect(cache.entry(for: key)?.wire == wire) }
        var visited = 0
        cache.forEach { key, answer in
            visited += 1
            #expect(answer.wire == model[key])
        }
        #expect(visited == model.count)
        let counters = cache.counters
        #expect(counters.insertions == inserts && counters.hits == hits && counters.misses == misses)
        #expect(counters.evictions == 0 && counters.expired == 0)
    }
}
