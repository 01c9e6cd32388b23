import Foundation
import Logging
import Testing
@testable import DNSForward

/// Four threads, each with its own forwarder, on one four-shard cache: fast
/// and full-path hits, misses answered by a made-up upstream, stale answers
/// and serve-stale marks, direct inserts, flushes and stats reads, on
/// overlapping names. The counts must add up afterwards; `scripts/sanitizers.sh`
/// runs this under TSan, which is what finds a race the counts miss (reading
/// `serveStaleUntil` or `hits` off an entry outside its shard's lock, for one).
@Suite("Cache shared between threads")
struct SharedCacheConcurrencyTests {
    typealias W = WireFixtures

    /// What one thread did, to check the cache's counters against.
    struct Tally {
        var fullQueries = 0
        var fastHits = 0
        var positiveUpstreamReplies = 0
        var directInserts = 0
        var answeredFromCache = 0
        var answeredStale = 0
        var staleRepliesSeen = 0
        var wrongReplies = 0

        static func + (lhs: Tally, rhs: Tally) -> Tally {
            Tally(fullQueries: lhs.fullQueries + rhs.fullQueries, fastHits: lhs.fastHits + rhs.fastHits,
                  positiveUpstreamReplies: lhs.positiveUpstreamReplies + rhs.positiveUpstreamReplies,
                  directInserts: lhs.directInserts + rhs.directInserts,
                  answeredFromCache: lhs.answeredFromCache + rhs.answeredFromCache,
                  answeredStale: lhs.answeredStale + rhs.answeredStale,
                  staleRepliesSeen: lhs.staleRepliesSeen + rhs.staleRepliesSeen,
                  wrongReplies: lhs.wrongReplies + rhs.wrongReplies)
        }
    }

    /// Tallies handed back from the threads. `@unchecked Sendable`: `tallies`
    /// is touched only inside `lock`.
    final class TallyBox: @unchecked Sendable {
        private let lock = PthreadMutex()
        private var tallies: [Tally] = []

        func add(_ tally: Tally) { lock.withLock { tallies.append(tally) } }
        var all: [Tally] { lock.withLock { tallies } }
    }

    static let threads = 4
    static let iterations = 3000
    static let names = (0..<3000).map { "h\($0).z\($0 % 8).test" }
    /// Half the steps pick one of the first few names, so threads meet on the same entries.
    static let hotNames = 16
    /// Names whose upstream always refuses: their entries, inserted long
    /// expired, stay stale, and threads mark and serve them concurrently.
    static let staleNames = (0..<4).map { "s\($0).stale.test" }

    static func key(_ name: String) -> CacheKey {
        CacheKey(name: W.name(name), type: 1, class: 1, dnssecOK: false, checkingDisabled: false)
    }

    /// An answer for a stale name, expired 9 s before `start`.
    static func expiredAnswer(_ name: String, start: MonotonicInstant) -> CachedAnswer {
        let wire = W.response(id: 0, name: name, answers: [[198, 51, 100, 1]], ttl: 1)
        let layout = wire.withUnsafeBytes { MessageLayout(wire: $0) }!
        return CachedAnswer(wire: wire, layout: layout, kind: .positive, storedAt: start - .seconds(10), lifetime: 1,
                            upstream: 0)
    }

    /// One worker: `iterations` random steps, time advancing 4 ms a step so
    /// 2-second answers expire mid-run.
    static func work(thread: Int, cache: DNSCache, start: MonotonicInstant) -> Tally {
        var ids = UInt16(thread) << 12
        let forwarder = Forwarder<Int>(
            configuration: ForwarderConfiguration(upstreamNames: ["upstream0"], upstreamPolicy: .ordered,
                                                  cache: cache.configuration).withoutCaseRandomization,
            logger: Logger(label: "thread\(thread)"), cache: cache, makeID: { defer { ids &+= 1 }; return ids })
        var generator = SplitMix64(seed: 0xC0FFEE &+ UInt64(thread))
        var tally = Tally()
        let out = UnsafeMutableRawBufferPointer.allocate(byteCount: 1232, alignment: 8)
        defer { out.deallocate() }

        /// Asks `name` the full way; answers every upstream query at once (a
        /// refusal for stale names), so nothing stays in flight.
        func fullQuery(_ name: String, id: UInt16, now: MonotonicInstant) {
            tally.fullQueries += 1
            let refuses = name.hasSuffix(".stale.test")
            var actions = W.query(id: id, name: name).withUnsafeBytes { forwarder.handleQuery($0, from: thread, now: now) }
            while !actions.isEmpty {
                var next: [ForwarderAction<Int>] = []
                for action in actions {
                    switch action {
                    case .sendUpstream(let request):
                        let (token, bytes) = (request.token, request.bytes)
                        let reply = refuses
                            ? W.response(id: W.header(bytes).id, name: name, rcode: 5)
                            : W.response(id: W.header(bytes).id, name: name, answers: [[192, 0, 2, UInt8(thread)]], ttl: 2)
                        if !refuses { tally.positiveUpstreamReplies += 1 }
                        next += reply.withUnsafeBytes { forwarder.handleUpstreamReply($0, token: token, now: now) }
                    case .reply(_, let bytes, let details):
                        if W.header(bytes).id != id { tally.wrongReplies += 1 }
                        if details.source == .staleCache { tally.staleRepliesSeen += 1 }
                    case .closeUpstream, .suspectForgery:
                        break
                    }
                }
                actions = next
            }
        }

        for step in 0..<iterations {
            let now = start + .milliseconds(step * 4)
            let name = Bool.random(using: &generator) ? names[Int.random(in: 0..<hotNames, using: &generator)]
                : names.randomElement(using: &generator)!
            let staleName = staleNames.randomElement(using: &generator)!
            let id = UInt16.random(in: 0...UInt16.max, using: &generator)
            switch Int.random(in: 0..<100, using: &generator) {
            case 0..<36:
                let hit = W.query(id: id, name: name).withUnsafeBytes { forwarder.answerFromCache($0, now: now, into: out) }
                if let hit {
                    tally.fastHits += 1
                    let reply = Array(out[..<hit.length])
                    if W.header(reply).id != id || Array(reply[12..<(12 + W.name(name).count)]) != W.name(name) {
                        tally.wrongReplies += 1
                    }
                }
            case 36..<64:
                fullQuery(name, id: id, now: now)
            case 64..<78:
                fullQuery(staleName, id: id, now: now)
            case 78..<88:
                // As after every upstream failed for the name; some marks already past.
                let until = now + .milliseconds(Int.random(in: -500...2000, using: &generator))
                cache.markServeStale(key(Int.random(in: 0..<4, using: &generator) > 0 ? staleName : name), until: until)
            case 88..<91:
                tally.directInserts += 1
                cache.insert(expiredAnswer(staleName, start: start), for: key(staleName), now: now)
            case 91..<94:
                cache.remove(name: W.name(name), subtree: false)
            case 94 where step % 16 == 0:
                // Rare: a subtree is an eighth of the names.
                cache.remove(name: W.name("z\(thread).test"), subtree: true)
            default:
                let count = cache.count
                if cache.counters.hits < 0 || count > cache.configuration.capacity || cache.bytes < 0 {
                    tally.wrongReplies += 1
                }
                if step % 50 == 0 {
                    for key in cache.keys.prefix(20) {
                        if let answer = cache.entry(for: key), answer.wire.count < 12 { tally.wrongReplies += 1 }
                    }
                }
            }
        }
        tally.answeredFromCache = forwarder.counters.answeredFromCache
        tally.answeredStale = forwarder.counters.answeredStale
        return tally
    }

    @Test func fourThreadsOnOneCacheKeepItsCountsConsistent() throws {
        var configuration = CacheConfiguration()
        configuration.capacity = 1024
        configuration.serveStale = 3600
        let cache = DNSCache(configuration: configuration, shards: 4)
        #expect(cache.shardCount == 4)
        let start = MonotonicInstant.now
        // Full from the start, so the threads' inserts evict (CLOCK's hand moves under contention too).
        for index in 0..<1024 {
            let name = "f\(index).fill.test"
            let wire = W.response(id: 0, name: name, answers: [[203, 0, 113, 1]], ttl: 3600)
            let layout = try #require(wire.withUnsafeBytes { MessageLayout(wire: $0) })
            cache.insert(CachedAnswer(wire: wire, layout: layout, kind: .positive, storedAt: start, lifetime: 3600,
                                      upstream: 0), for: Self.key(name), now: start)
        }
        for name in Self.staleNames { cache.insert(Self.expiredAnswer(name, start: start), for: Self.key(name), now: start) }
        let inserted = cache.counters.insertions
        let box = TallyBox()
        let done = DispatchGroup()
        for thread in 0..<Self.threads {
            done.enter()
            // Threads of their own: a concurrent queue on a two-core machine would run two at a time.
            let worker = Thread {
                box.add(Self.work(thread: thread, cache: cache, start: start))
                done.leave()
            }
            worker.start()
        }
        done.wait()

        let tallies = box.all
        #expect(tallies.count == Self.threads)
        let total = tallies.reduce(Tally(), +)
        #expect(total.wrongReplies == 0)
        #expect(total.fastHits > 0 && total.answeredFromCache > total.fastHits, "both hit paths ran")
        #expect(total.answeredStale > 0, "the stale path ran")

        let keys = cache.keys
        #expect(cache.count == keys.count)
        #expect(Set(keys).count == keys.count)
        #expect(cache.count <= 1024)
        var bytes = 0
        for key in keys { bytes += try #require(cache.entry(for: key)).wire.count }
        #expect(cache.bytes == bytes)

        let counters = cache.counters
        // Each handleQuery looks up once; a fast path is counted only when it hits.
        #expect(counters.hits + counters.misses == total.fullQueries + total.fastHits)
        #expect(counters.hits == total.answeredFromCache)
        #expect(counters.insertions == inserted + total.directInserts + total.positiveUpstreamReplies)
        #expect(total.answeredStale == total.staleRepliesSeen)
        // A flush between the lookup and the stale reply leaves that reply uncounted in the cache.
        #expect(counters.staleHits <= total.answeredStale)
        #expect(counters.evictions > 0)
    }
}
