import Testing
@testable import DNSForward

@Suite("Cache index and compact entries")
struct CacheIndexTests {
    /// Random inserts and removes against a dictionary model. Hashes come from
    /// 48 values whose home buckets sit at both ends of the table at every
    /// size, so runs collide, wrap around the end and cross growth.
    @Test func findsExactlyTheLivePositionsThroughCollisionsGrowthAndRemoval() {
        var generator = SplitMix64(seed: 0xCAC4E)
        var index = CacheIndex()
        var model: [Int: UInt32] = [:]
        var nextPosition = 0
        for step in 0..<20_000 {
            if model.isEmpty || (model.count < 3_000 && Int.random(in: 0..<3, using: &generator) > 0) {
                let near = UInt32.random(in: 0..<24, using: &generator)
                let hash = Bool.random(using: &generator) ? near : UInt32.max - near
                index.insert(hash: hash, position: nextPosition)
                model[nextPosition] = hash
                nextPosition += 1
            } else {
                let (position, hash) = model.randomElement(using: &generator)!
                index.remove(hash: hash, position: position)
                model[position] = nil
            }
            if step % 997 == 0 || step == 19_999 {
                #expect(index.count == model.count)
                for (position, hash) in model {
                    #expect(index.find(hash: hash) { $0 == position } == position, "step \(step): lost \(position)")
                }
            }
        }
        for position in model.keys.shuffled(using: &generator).prefix(50) {
            let hash = model[position]!
            index.remove(hash: hash, position: position)
            #expect(index.find(hash: hash) { $0 == position } == nil)
        }
    }

    @Test func removingAnAbsentPositionChangesNothing() {
        var index = CacheIndex()
        index.insert(hash: 7, position: 0)
        index.remove(hash: 7, position: 1)
        index.remove(hash: 8, position: 0)
        #expect(index.count == 1)
        #expect(index.find(hash: 7) { $0 == 0 } == 0)
    }

    @Test func headerFitsInSixtyFourBytes() {
        #expect(MemoryLayout<CacheEntry.Header>.size <= 64)
    }

    @Test func entryKeepsEveryPartOfTheAnswerAndItsKey() throws {
        let wire = WireFixtures.response(id: 0, name: "Www.Example.test", answers: [[192, 0, 2, 1], [192, 0, 2, 2]],
                                         ednsSize: 1232, ttl: 300)
        let layout = try #require(wire.withUnsafeBytes { MessageLayout(wire: $0) })
        let now = MonotonicInstant.now
        var answer = CachedAnswer(wire: wire, layout: layout, kind: .positive, storedAt: now, lifetime: 300, upstream: nil)
        answer.hits = 3
        answer.serveStaleUntil = now + .seconds(30)
        let key = CacheKey(name: WireFixtures.name("www.example.test"), type: 1, class: 1, dnssecOK: true,
                           checkingDisabled: false)
        let entry = try #require(CacheEntry.make(key: key, hash: CacheEntry.hash(key), answer: answer))
        let copy = entry.answer
        #expect(copy.wire == wire)
        #expect(copy.ttlOffsets == layout.ttlOffsets && layout.ttlOffsets.count == 2)
        #expect(copy.optRange == layout.optRange && copy.optRange != nil)
        #expect(copy.upstream == nil && copy.hits == 3 && copy.lifetime == 300 && copy.storedAt == now)
        #expect(copy.serveStaleUntil == now + .seconds(30))
        #expect(entry.key == key)
        #expect(entry.matches(key))
        let others = [
            CacheKey(name: key.name, type: 28, class: 1, dnssecOK: true, checkingDisabled: false),
            CacheKey(name: key.name, type: 1, class: 1, dnssecOK: false, checkingDisabled: false),
            CacheKey(name: key.name, type: 1, class: 1, dnssecOK: true, checkingDisabled: true),
            CacheKey(name: WireFixtures.name("wwx.example.test"), type: 1, class: 1, dnssecOK: true, checkingDisabled: false),
        ]
        for other in others { #expect(!entry.matches(other), "\(other)") }
        entry.serveStaleUntil = nil
        #expect(entry.answer.serveStaleUntil == nil)
    }

    /// Under churn the cache stays consistent: every key it lists finds its
    /// own answer, `bytes` is the sum of the wires, and it never exceeds capacity.
    @Test func cacheStaysConsistentUnderChurn() throws {
        var configuration = CacheConfiguration()
        configuration.capacity = 300
        let cache = DNSCache(configuration: configuration)
        var generator = SplitMix64(seed: 0xC10C)
        let start = MonotonicInstant.now
        for step in 0..<6_000 {
            let now = start + .milliseconds(step * 10)
            let name = "n\(Int.random(in: 0..<900, using: &generator)).example.test"
            let key = CacheKey(name: WireFixtures.name(name), type: 1, class: 1, dnssecOK: false, checkingDisabled: false)
            switch Int.random(in: 0..<10, using: &generator) {
            case 0..<5:
                let ttl = UInt32.random(in: 1...120, using: &generator)
                let wire = WireFixtures.response(id: 0, name: name, answers: [[192, 0, 2, UInt8(step % 256)]], ttl: ttl)
                let layout = try #require(wire.withUnsafeBytes { MessageLayout(wire: $0) })
                cache.insert(CachedAnswer(wire: wire, layout: layout, kind: .positive, storedAt: now, lifetime: ttl,
                                          upstream: 0), for: key, now: now)
                #expect(cache.entry(for: key)?.wire == wire)
            case 5..<9:
                _ = cache.lookup(key, now: now)
            default:
                cache.remove(key)
                #expect(cache.entry(for: key) == nil)
            }
        }
        let keys = cache.keys
        #expect(keys.count == cache.count && cache.count <= 300 && Set(keys).count == keys.count)
        var bytes = 0
        for key in keys {
            let answer = try #require(cache.entry(for: key))
            bytes += answer.wire.count
            #expect(try DecodedReply(answer.wire).questionName == DNSName(wire: key.name).description)
        }
        #expect(bytes == cache.bytes)
        #expect(cache.counters.evictions + cache.counters.expired > 0, "the churn filled the cache")
    }
}
