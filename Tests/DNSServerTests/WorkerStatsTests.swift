import Testing
@testable import DNSServer

@Suite("Stats of several event loops")
struct WorkerStatsTests {
    static func stats(queries: Int, fromCache: Int, upstreamUp: Bool, upstreamQueries: Int, rtt: Double?,
                       destinations: [(String, Int)], codes: [String: Int], refused: Int) -> DaemonStats {
        DaemonStats(
            uptimeSeconds: 7, inFlight: 1,
            cache: .init(entries: 10, capacity: 100, bytes: 500, hits: 4, misses: 6, hitRatio: 0.4, staleHits: 0,
                         insertions: 6, evictions: 0, expired: 0),
            answers: .init(queries: queries, fromCache: fromCache, fromStaleCache: 0, fromZones: 1, fromUpstreams: 2,
                           coalesced: 0, serverFailures: 1, timeouts: 0, rejectedUpstreamReplies: 0, tcpRetries: 0,
                           droppedQueries: 0),
            upstreams: [.init(address: "198.51.100.53:53", up: upstreamUp, queries: upstreamQueries, failures: 1,
                              rttMilliseconds: rtt)],
            originalDestinations: destinations.map { .init(address: $0.0, queries: $0.1) },
            transport: .init(tcpConnections: 0, tcpRejected: 0, replySendFailures: 1, receiveDropsTruncated: 0,
                             receiveDropsNoOriginalDestination: 0),
            queryLog: .init(enabled: true, written: 3, dropped: 0),
            zones: ["lan."], responseCodes: codes,
            admission: .init(refused: refused, ignored: 0, rateLimited: 0),
            queriesByWorker: [queries])
    }

    @Test func countsAddUpAndSharedPartsStay() {
        var merged = Self.stats(queries: 10, fromCache: 4, upstreamUp: true, upstreamQueries: 3, rtt: 2,
                           destinations: [("203.0.113.53", 6), ("192.0.2.1", 4)], codes: ["NOERROR": 9], refused: 1)
        merged.add(worker: Self.stats(queries: 5, fromCache: 2, upstreamUp: true, upstreamQueries: 1, rtt: 6,
                                 destinations: [("192.0.2.1", 5), ("other", 2)], codes: ["NOERROR": 4, "NXDOMAIN": 1],
                                 refused: 2))
        #expect(merged.answers.queries == 15)
        #expect(merged.answers.overQuota == 0, "absent in both (an older daemon) adds up to 0")
        #expect(merged.answers.fromCache == 6)
        #expect(merged.answers.serverFailures == 2)
        #expect(merged.inFlight == 2)
        #expect(merged.transport.replySendFailures == 2)
        #expect(merged.transport.tcpEvicted == nil, "absent in both: stays absent")
        #expect(merged.admission.refused == 3)
        #expect(merged.responseCodes == ["NOERROR": 13, "NXDOMAIN": 1])
        #expect(merged.queriesByWorker == [10, 5])
        // Shared by every loop: counted once, not added.
        #expect(merged.cache.hits == 4)
        #expect(merged.cache.entries == 10)
        #expect(merged.queryLog.written == 3)
        #expect(merged.uptimeSeconds == 7)
        #expect(merged.zones == ["lan."])
        // Re-ranked by the summed counts; "other" stays last.
        #expect(merged.originalDestinations.map(\.address) == ["192.0.2.1", "203.0.113.53", "other"])
        #expect(merged.originalDestinations.map(\.queries) == [9, 6, 2])
        #expect(merged.upstreams[0].queries == 4)
        #expect(merged.upstreams[0].failures == 2)
        #expect(merged.upstreams[0].up)
        // Weighted by queries: (2 * 3 + 6 * 1) / 4.
        #expect(merged.upstreams[0].rttMilliseconds == 3)
    }

    @Test func anUpstreamIsUpOnlyIfEveryLoopFindsItUp() {
        var merged = Self.stats(queries: 1, fromCache: 0, upstreamUp: true, upstreamQueries: 1, rtt: nil,
                           destinations: [], codes: [:], refused: 0)
        merged.add(worker: Self.stats(queries: 1, fromCache: 0, upstreamUp: false, upstreamQueries: 2, rtt: 5,
                                 destinations: [], codes: [:], refused: 0))
        #expect(!merged.upstreams[0].up)
        // Only one loop measured it: its figure stands.
        #expect(merged.upstreams[0].rttMilliseconds == 5)
    }
}
