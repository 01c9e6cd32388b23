import Testing
@testable import DNSForward

/// The cache file's format (`CacheSnapshot`) through `DNSCache.snapshot` and
/// `restore`: round trip, ageing by wall-clock time, every kind of damage,
/// and the memory budget on load. Both clocks are passed in.
@Suite("Cache file format")
struct CacheSnapshotTests {
    typealias W = WireFixtures
    typealias S = ShardedCacheTests
    typealias M = CacheMemoryTests

    /// A wall-clock moment: 2026-12-03 in Unix nanoseconds.
    static let wall: Int64 = 1_796_256_000 * 1_000_000_000
    static func seconds(_ value: Int64) -> Int64 { value * 1_000_000_000 }

    /// A cache of a few answers of every shape: plain, several TTLs, OPT, DO and CD keys, negative kinds.
    static func filledCache(now: MonotonicInstant) -> DNSCache {
        let cache = DNSCache(configuration: S.configuration(capacity: 10_000, serveStale: 0), shards: 4)
        for index in 0..<20 {
            cache.insert(S.answer("a\(index).test", addresses: 1 + index % 3, ttl: 300, at: now),
                         for: S.key("a\(index).test"), now: now)
        }
        let withOPT = W.response(id: 0, name: "opt.test", answers: [[192, 0, 2, 9]], ednsSize: 1232, ttl: 600)
        let layout = withOPT.withUnsafeBytes { MessageLayout(wire: $0) }!
        cache.insert(CachedAnswer(wire: withOPT, layout: layout, kind: .positive, storedAt: now, lifetime: 600, upstream: 1),
                     for: S.key("opt.test", dnssecOK: true), now: now)
        let negative = W.response(id: 0, name: "nx.test", rcode: 3, ttl: 60)
        let negativeLayout = negative.withUnsafeBytes { MessageLayout(wire: $0) }!
        cache.insert(CachedAnswer(wire: negative, layout: negativeLayout, kind: .nameError, storedAt: now, lifetime: 60,
                                  upstream: nil),
                     for: CacheKey(name: W.name("nx.test"), type: .a, class: 1, dnssecOK: false, checkingDisabled: true),
                     now: now)
        return cache
    }

    static func restored(_ bytes: [UInt8], configuration: CacheConfiguration = S.configuration(capacity: 10_000),
                         now: MonotonicInstant, unixNanoseconds: Int64)
        throws(CacheSnapshotError) -> (DNSCache, DNSCache.RestoreCounts) {
        let cache = DNSCache(configuration: configuration)
        let counts = try cache.restore(bytes, now: now, unixNanoseconds: unixNanoseconds)
        return (cache, counts)
    }

    static func error(_ bytes: [UInt8], now: MonotonicInstant = .now, unixNanoseconds: Int64 = wall) -> CacheSnapshotError? {
        do {
            _ = try restored(bytes, now: now, unixNanoseconds: unixNanoseconds)
            return nil
        } catch {
            return error
        }
    }

    @Test func roundTripKeepsEveryEntryAndWhatAHitNeeds() throws {
        let now = MonotonicInstant.now
        let original = Self.filledCache(now: now)
        _ = original.withFreshEntry(for: S.key("a3.test"), now: now) { _ in true }
        let (bytes, entries) = original.snapshot(now: now, unixNanoseconds: Self.wall)
        #expect(entries == original.count)
        let (copy, counts) = try Self.restored(bytes, now: now, unixNanoseconds: Self.wall)
        #expect(counts == .init(loaded: original.count, expired: 0))
        #expect(Set(copy.keys) == Set(original.keys))
        for key in original.keys {
            let before = try #require(original.entry(for: key)), after = try #require(copy.entry(for: key))
            #expect(after.wire == before.wire && after.ttlOffsets == before.ttlOffsets, "\(key)")
            #expect(after.optRange == before.optRange && after.recordsAfterOPT == before.recordsAfterOPT)
            #expect(after.kind == before.kind && after.lifetime == before.lifetime && after.hits == before.hits)
            #expect(after.age(at: now) == 0)
            #expect(after.upstream == nil, "the upstream index is not kept")
        }
    }

    @Test func ttlsAgeByTheWallClockTimeThatPassed() throws {
        let saved = MonotonicInstant.now
        let (bytes, _) = Self.filledCache(now: saved).snapshot(now: saved, unixNanoseconds: Self.wall)
        // A different boot: the monotonic clock restarted, the wall clock moved on 100 s.
        let later = MonotonicInstant.now
        let (copy, counts) = try Self.restored(bytes, now: later, unixNanoseconds: Self.wall + Self.seconds(100))
        #expect(counts == .init(loaded: 21, expired: 1), "the 60 s NXDOMAIN expired")
        let answer = try #require(copy.entry(for: S.key("a1.test")))
        #expect(answer.age(at: later) == 100)
        #expect(answer.presentation(at: later).first?.contains("\t200\t") == true, "\(answer.presentation(at: later))")
    }

    @Test func expiredEntriesStayWithinTheServeStaleWindowOnly() throws {
        let now = MonotonicInstant.now
        let (bytes, _) = Self.filledCache(now: now).snapshot(now: now, unixNanoseconds: Self.wall)
        let stale = S.configuration(capacity: 10_000, serveStale: 1_000)
        let (kept, keptCounts) = try Self.restored(bytes, configuration: stale, now: now,
                                                   unixNanoseconds: Self.wall + Self.seconds(900))
        #expect(keptCounts == .init(loaded: 22, expired: 0), "every one past its TTL but within 1,000 s of it")
        #expect(kept.entry(for: S.key("opt.test", dnssecOK: true)).map { !$0.isFresh(at: now) } == true)
        let (_, goneCounts) = try Self.restored(bytes, configuration: stale, now: now,
                                                unixNanoseconds: Self.wall + Self.seconds(1_700))
        #expect(goneCounts == .init(loaded: 0, expired: 22))
    }

    @Test func everyFlippedBitIsCaught() {
        let now = MonotonicInstant.now
        let cache = DNSCache(configuration: S.configuration(capacity: 100))
        cache.insert(S.answer("bits.test", at: now), for: S.key("bits.test"), now: now)
        let (bytes, _) = cache.snapshot(now: now, unixNanoseconds: Self.wall)
        for bit in 0..<bytes.count * 8 {
            var damaged = bytes
            damaged[bit / 8] ^= 1 << UInt8(bit % 8)
            #expect(Self.error(damaged, now: now) != nil, "bit \(bit) flipped went unnoticed")
        }
    }

    @Test func truncationAtEveryLengthNamesItsSection() {
        let now = MonotonicInstant.now
        let (bytes, _) = Self.filledCache(now: now).snapshot(now: now, unixNanoseconds: Self.wall)
        let bodyEnd = bytes.count - CacheSnapshot.checksumBytes
        for length in 0..<bytes.count {
            let expected: CacheSnapshotError = length < CacheSnapshot.headerBytes ? .truncated(section: "header")
                : length < bodyEnd ? .truncated(section: "body") : .truncated(section: "checksum")
            #expect(Self.error(Array(bytes[..<length]), now: now) == expected, "cut at \(length)")
        }
        #expect(Self.error(bytes + [0], now: now) == .trailingBytes(1))
    }

    @Test func foreignFilesAndOtherVersionsAreRefused() {
        let now = MonotonicInstant.now
        let (bytes, _) = Self.filledCache(now: now).snapshot(now: now, unixNanoseconds: Self.wall)
        #expect(Self.error(Array("# not a cache file\n".utf8), now: now) == .foreign)
        var version = bytes
        version[8] = 2
        #expect(Self.error(version, now: now) == .unsupportedVersion(2))
    }

    @Test func aFileFromTheFutureIsRefused() {
        let now = MonotonicInstant.now
        let (bytes, _) = Self.filledCache(now: now).snapshot(now: now, unixNanoseconds: Self.wall)
        #expect(Self.error(bytes, now: now, unixNanoseconds: Self.wall - Self.seconds(3_600)) == .fromTheFuture(seconds: 3_600))
        #expect(Self.error(bytes, now: now, unixNanoseconds: Self.wall) == nil, "saved this very moment loads")
    }

    @Test func aRecordStoredAfterTheSaveIsRefusedThoughItsChecksumHolds() {
        let now = MonotonicInstant.now
        let cache = DNSCache(configuration: S.configuration(capacity: 100))
        cache.insert(S.answer("late.test", at: now), for: S.key("late.test"), now: now)
        var bytes = cache.snapshot(now: now, unixNanoseconds: Self.wall).bytes
        let storedAt = CacheSnapshot.headerBytes + 4
        var writer = SnapshotWriter(bytes: bytes)
        writer.patch(Self.wall + 1, at: storedAt)
        bytes = Array(writer.bytes.dropLast(8))
        bytes += withUnsafeBytes(of: bytes.withUnsafeBytes { CacheSnapshot.checksum($0) }.littleEndian) { Array($0) }
        #expect(Self.error(bytes, now: now) == .malformedRecord(index: 0, reason: "stored after the file was saved"))
    }

    @Test func aLoadLargerThanTheBudgetKeepsTheMostRecentlyUsed() throws {
        let start = MonotonicInstant.now
        let one = M.cost("n0.test", M.bigAnswer("n0.test", records: 10, at: start))
        let big = DNSCache(configuration: M.configuration(memoryLimit: 64 << 20))
        for index in 0..<40 {
            let name = "n\(index).test", at = start + .seconds(index)
            big.insert(M.bigAnswer(name, records: 10, at: at), for: S.key(name, type: .txt), now: at)
        }
        let now = start + .seconds(40)
        // n0 is the oldest but was just used.
        _ = big.withFreshEntry(for: S.key("n0.test", type: .txt), now: now) { _ in true }
        let (bytes, _) = big.snapshot(now: now, unixNanoseconds: Self.wall)
        let small = M.configuration(memoryLimit: one * 10 + one / 2)
        let (copy, counts) = try Self.restored(bytes, configuration: small, now: now, unixNanoseconds: Self.wall)
        #expect(copy.count == 10 && counts.loaded == 10)
        #expect(copy.memoryUsed <= small.memoryLimit)
        let kept = Set(copy.keys.map { DNSName(wire: $0.name).description })
        #expect(kept == Set(["n0.test."] + (31..<40).map { "n\($0).test." }), "\(kept.sorted())")
    }
}
