import DNSForward

extension ServerLoop {
    /// This loop's figures only; the cache, zones and query log are the daemon's.
    func ownStats(now: MonotonicInstant) -> DaemonStats {
        let cache = forwarder.cache
        // Read once: with workers the shards keep changing between reads.
        let counters = cache.counters
        let lookups = counters.hits + counters.misses
        let answers = forwarder.counters
        let log = pipeline.answers.queryLog?.counts
        let drops = udp.drops
        let tls = pipeline.transport.tls?.counters
        var stats = DaemonStats(
            uptimeSeconds: Int(startedAt.duration(to: now).components.seconds),
            inFlight: forwarder.inFlightCount,
            cache: .init(entries: cache.count, capacity: cache.configuration.capacity, bytes: cache.bytes,
                         hits: counters.hits, misses: counters.misses,
                         hitRatio: lookups == 0 ? 0 : Double(counters.hits) / Double(lookups),
                         staleHits: counters.staleHits, insertions: counters.insertions,
                         evictions: counters.evictions, expired: counters.expired, memoryBytes: cache.memoryUsed,
                         memoryLimit: cache.configuration.memoryLimit, oversized: counters.oversized,
                         prefetches: answers.prefetches, prefetchFailures: answers.prefetchFailures),
            answers: .init(queries: answers.queries, fromCache: answers.answeredFromCache,
                           fromStaleCache: answers.answeredStale, fromZones: answers.answeredFromZones,
                           fromUpstreams: answers.answeredFromUpstream, coalesced: answers.coalesced,
                           serverFailures: answers.serverFailures, timeouts: answers.timeouts,
                           rejectedUpstreamReplies: answers.rejectedReplies, tcpRetries: answers.tcpRetries,
                           droppedQueries: answers.dropped, overQuota: answers.overQuota,
                           caseMismatches: answers.caseMismatches, upstreamRetransmits: answers.retransmissions),
            upstreams: forwarder.upstreamHealth.map { health in
                .init(address: health.name, up: !health.isDown, queries: health.queries,
                      failures: health.failures,
                      rttMilliseconds: health.smoothedRTT.map { Double($0.components.attoseconds) / 1e15 + Double($0.components.seconds) * 1000 },
                      caseRandomization: health.caseRandomization)
            },
            originalDestinations: pipeline.destinations.ranked { $0.description },
            transport: .init(tcpConnections: tcp?.connectionCount ?? 0, tcpRejected: tcp?.rejectedConnections ?? 0,
                             replySendFailures: pipeline.udpReplies.sendFailures, receiveDropsTruncated: drops.truncated,
                             receiveDropsNoOriginalDestination: drops.missingOriginalDestination,
                             tcpEvicted: tcp?.evictedConnections ?? 0,
                             streamRefused: (control?.refusedConnections ?? 0) + (metrics?.refusedConnections ?? 0),
                             acceptPauses: acceptPauses,
                             upstreamSocketsRetiredForForgery: pipeline.transport.socketsRetiredForForgery,
                             tlsConnectionsOpened: tls?.connectionsOpened, tlsSessionsResumed: tls?.sessionsResumed,
                             tlsConnectionFailures: tls?.connectionFailures),
            queryLog: .init(enabled: log != nil, written: log?.written ?? 0, dropped: log?.dropped ?? 0),
            zones: forwarder.localZones.zoneNames,
            responseCodes: Dictionary(uniqueKeysWithValues: pipeline.answers.responseCodes.byCode.map { ($0.key.description, $0.value) }),
            admission: .init(refused: admission.counters.refused, ignored: admission.counters.ignored,
                             rateLimited: admission.counters.rateLimited,
                             refusedDropped: admission.counters.refusedDropped),
            queriesByWorker: [answers.queries],
            topNames: pipeline.names.ranked(limit: DaemonStats.topLimit),
            topClients: pipeline.clients.ranked(limit: DaemonStats.topLimit) { $0.description })
        stats.policy = DaemonStats.Policy(forwarder.policy, counters: answers)
        return stats
    }

    /// Pauses of every listener on this loop (none on a worker).
    private var acceptPauses: Int {
        (tcp?.acceptor.pauses ?? 0) + (control?.acceptor.pauses ?? 0) + (metrics?.acceptor.pauses ?? 0)
    }
}
