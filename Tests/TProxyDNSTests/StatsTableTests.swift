import Testing
@testable import DNSServer
@testable import tproxy_dns

@Suite("cache stats table")
struct StatsTableTests {
    static let stats = DaemonStats(
        uptimeSeconds: 7, inFlight: 1,
        cache: .init(entries: 10, capacity: 100, bytes: 500, hits: 4, misses: 6, hitRatio: 0.4, staleHits: 2,
                     insertions: 6, evictions: 3, expired: 1, memoryBytes: 2400, memoryLimit: 33_554_432, oversized: 1),
        answers: .init(queries: 12, fromCache: 4, fromStaleCache: 2, fromZones: 1, fromUpstreams: 5,
                       coalesced: 1, serverFailures: 1, timeouts: 1, rejectedUpstreamReplies: 0, tcpRetries: 2,
                       droppedQueries: 0, overQuota: 3),
        upstreams: [.init(address: "198.51.100.53:53", up: true, queries: 5, failures: 1, rttMilliseconds: 2.25),
                    .init(address: "[2001:db8::53]:53", up: false, queries: 0, failures: 3, rttMilliseconds: nil)],
        originalDestinations: [.init(address: "203.0.113.53", queries: 9), .init(address: "192.0.2.1", queries: 3)],
        transport: .init(tcpConnections: 2, tcpRejected: 0, replySendFailures: 1, receiveDropsTruncated: 4,
                         receiveDropsNoOriginalDestination: 5, tcpEvicted: 6, streamRefused: 7, acceptPauses: 8),
        queryLog: .init(enabled: true, written: 3, dropped: 0),
        zones: ["lan.", "home.arpa."], responseCodes: ["NOERROR": 9, "NXDOMAIN": 2],
        admission: .init(refused: 1, ignored: 0, rateLimited: 6),
        queriesByWorker: [8, 4])

    /// The whole table, byte for byte (trailing spaces pad the last column).
    @Test func rendersEverySectionAligned() {
        let expected = [
            "cache",
            "  entries     10 of 100",
            "  bytes       500",
            "  memory      2400 of 33554432",
            "  oversized   1",
            "  hits        4",
            "  misses      6",
            "  hit ratio   40.0%",
            "  stale hits  2",
            "  evictions   3",
            "  expired     1",
            "  in flight   1",
            "answers",
            "  queries            12",
            "  from cache         4",
            "  from stale cache   2",
            "  from zones         1",
            "  from upstreams     5",
            "  coalesced          1",
            "  SERVFAIL           1",
            "  upstream timeouts  1",
            "  rejected replies   0",
            "  TCP retries        2",
            "  dropped            0",
            "  over client quota  3",
            "upstreams",
            "  address            state  queries  failures  rtt   ",
            "  198.51.100.53:53   up           5         1  2.2 ms",
            "  [2001:db8::53]:53  DOWN         0         3  -     ",
            "original destinations (the servers clients asked)",
            "  address       queries",
            "  203.0.113.53        9",
            "  192.0.2.1           3",
            "answers by response code",
            "  rcode     answers",
            "  NOERROR         9",
            "  NXDOMAIN        2",
            "access",
            "  refused (not allowed)  1",
            "  ignored (not allowed)  0",
            "  rate limited           6",
            "transport",
            "  tcp connections       2",
            "  tcp refused (limit)   0",
            "  tcp evicted (full)    6",
            "  metrics/ctl refused   7",
            "  accept pauses (fds)   8",
            "  reply send failures   1",
            "  dropped: oversized    4",
            "  dropped: no orig dst  5",
            "daemon",
            "  uptime             7 s",
            "  query log          3 written, 0 dropped",
            "  zones              lan. home.arpa.",
            "  queries by worker  8 / 4",
        ].map { $0 + "\n" }.joined()
        #expect(StatsTable.render(Self.stats) == expected)
    }

    /// Figures older daemons do not send show only when a daemon sends them.
    @Test func newerFiguresShowWhenPresent() {
        var stats = Self.stats
        stats.admission.refusedDropped = 900
        stats.answers.caseMismatches = 3
        stats.transport.upstreamSocketsRetiredForForgery = 1
        stats.upstreams[0].caseRandomization = true
        stats.upstreams[1].caseRandomization = false
        stats.cache.prefetches = 12
        stats.cache.prefetchFailures = 1
        let text = StatsTable.render(stats)
        #expect(!StatsTable.render(Self.stats).contains("prefetch"))
        #expect(text.contains("  prefetches         12\n") && text.contains("  prefetch failures  1\n"))
        for row in ["refusals over cap", "wrong-case replies", "sockets retired (forged)", "upstreams with 0x20 off"] {
            #expect(text.contains(row))
        }
        #expect(text.contains("  upstreams with 0x20 off  1\n"))
        #expect(text.contains("  refusals over cap      900\n"))
    }

    /// `--cache-file`'s section: only from a daemon that has one.
    @Test func cacheFileSectionShowsTheLastLoadAndSave() {
        var stats = Self.stats
        #expect(!StatsTable.render(stats).contains("cache file\n"))
        stats.cacheFile = DaemonStats.CacheFile(
            path: "/var/lib/tproxy-dns/cache", saveIntervalSeconds: 3600, loadedAt: 1_796_256_000, loadedEntries: 100_000,
            loadExpired: 12, loadMilliseconds: 180.25, savedAt: 1_796_259_600, savedEntries: 99_000, savedBytes: 12_000_000,
            saveMilliseconds: 95.5, saves: 2, saveFailures: 1, saveError: nil, savesRequested: 3)
        let text = StatsTable.render(stats)
        #expect(text.contains("cache file\n  path       /var/lib/tproxy-dns/cache\n  saved      every 3600 s and at exit\n"))
        #expect(text.contains("  loaded     100000 entries (12 expired left out) at 2026-12-03T00:00:00Z in 180.2 ms\n"))
        #expect(text.contains("  last save  99000 entries, 12000000 bytes at 2026-12-03T01:00:00Z in 95.5 ms\n"))
        #expect(text.contains("  saves      2 ok, 1 failed\n"))
    }
}
