/// Adding a worker loop's figures to the primary's, so `cache stats` and the
/// metrics describe the daemon, not one thread of it.
extension DaemonStats {
    /// The cache, zones, query log and uptime are shared: the primary's stand.
    /// Counts add up; an upstream is up only if every loop finds it up.
    mutating func add(worker other: DaemonStats) {
        inFlight += other.inFlight
        // Each loop's forwarder starts its own prefetches; the cache they refresh is shared.
        cache.prefetches = Self.sum(cache.prefetches, other.cache.prefetches)
        cache.prefetchFailures = Self.sum(cache.prefetchFailures, other.cache.prefetchFailures)
        answers.add(other.answers)
        for index in upstreams.indices where index < other.upstreams.count {
            upstreams[index].add(other.upstreams[index])
        }
        originalDestinations = Self.merged(originalDestinations, other.originalDestinations)
        transport.tcpConnections += other.transport.tcpConnections
        transport.tcpRejected += other.transport.tcpRejected
        transport.replySendFailures += other.transport.replySendFailures
        transport.receiveDropsTruncated += other.transport.receiveDropsTruncated
        transport.receiveDropsNoOriginalDestination += other.transport.receiveDropsNoOriginalDestination
        transport.tcpEvicted = Self.sum(transport.tcpEvicted, other.transport.tcpEvicted)
        transport.streamRefused = Self.sum(transport.streamRefused, other.transport.streamRefused)
        transport.acceptPauses = Self.sum(transport.acceptPauses, other.transport.acceptPauses)
        transport.upstreamSocketsRetiredForForgery = Self.sum(transport.upstreamSocketsRetiredForForgery,
                                                             other.transport.upstreamSocketsRetiredForForgery)
        transport.tlsConnectionsOpened = Self.sum(transport.tlsConnectionsOpened, other.transport.tlsConnectionsOpened)
        transport.tlsSessionsResumed = Self.sum(transport.tlsSessionsResumed, other.transport.tlsSessionsResumed)
        transport.tlsConnectionFailures = Self.sum(transport.tlsConnectionFailures, other.transport.tlsConnectionFailures)
        responseCodes.merge(other.responseCodes, uniquingKeysWith: +)
        admission.refused += other.admission.refused
        admission.ignored += other.admission.ignored
        admission.rateLimited += other.admission.rateLimited
        admission.refusedDropped = Self.sum(admission.refusedDropped, other.admission.refusedDropped)
        queriesByWorker = (queriesByWorker ?? []) + (other.queriesByWorker ?? [])
        if topNames != nil || other.topNames != nil {
            topNames = Self.merged(topNames ?? [], other.topNames ?? [], limit: Self.topLimit)
        }
        if topClients != nil || other.topClients != nil {
            topClients = Self.merged(topClients ?? [], other.topClients ?? [], limit: Self.topLimit)
        }
        if let theirs = other.policy { policy?.add(theirs) }
    }

    /// Optional counts (absent from older daemons) add up as zero.
    static func sum(_ a: Int?, _ b: Int?) -> Int? {
        a == nil && b == nil ? nil : (a ?? 0) + (b ?? 0)
    }

    /// Summed by address, most asked first, "other" (past a loop's capacity) last.
    private static func merged(_ a: [Destination], _ b: [Destination], limit: Int = .max) -> [Destination] {
        var queries: [String: Int] = [:]
        for row in a + b { queries[row.address, default: 0] += row.queries }
        let other = queries.removeValue(forKey: "other") ?? 0
        return ranked(queries.map { Destination(address: $0.key, queries: $0.value) }, other: other, limit: limit)
    }

    /// Most asked first (ties by address), at most `limit`, then "other" when it counted any.
    static func ranked(_ rows: [Destination], other: Int, limit: Int) -> [Destination] {
        var rows = Array(rows.sorted { $0.queries == $1.queries ? $0.address < $1.address : $0.queries > $1.queries }.prefix(limit))
        if other > 0 { rows.append(Destination(address: "other", queries: other)) }
        return rows
    }
}

extension DaemonStats.Answers {
    mutating func add(_ other: Self) {
        queries += other.queries
        fromCache += other.fromCache
        fromStaleCache += other.fromStaleCache
        fromZones += other.fromZones
        fromUpstreams += other.fromUpstreams
        coalesced += other.coalesced
        serverFailures += other.serverFailures
        timeouts += other.timeouts
        rejectedUpstreamReplies += other.rejectedUpstreamReplies
        tcpRetries += other.tcpRetries
        droppedQueries += other.droppedQueries
        overQuota = (overQuota ?? 0) + (other.overQuota ?? 0)
        caseMismatches = DaemonStats.sum(caseMismatches, other.caseMismatches)
        upstreamRetransmits = DaemonStats.sum(upstreamRetransmits, other.upstreamRetransmits)
    }
}

extension DaemonStats.Upstream {
    /// Each loop keeps its own health view and RTT estimate; shown as one, the
    /// RTT is the loops' estimates weighted by their queries (so adding loops
    /// one at a time gives the same figure in any order).
    mutating func add(_ other: Self) {
        switch (rttMilliseconds, other.rttMilliseconds) {
        case (let mine?, let theirs?):
            let weights = (Double(max(queries, 1)), Double(max(other.queries, 1)))
            rttMilliseconds = (mine * weights.0 + theirs * weights.1) / (weights.0 + weights.1)
        case (nil, let theirs?):
            rttMilliseconds = theirs
        default:
            break
        }
        up = up && other.up
        // Each loop detects case-mangling upstreams on its own: off anywhere shows as off.
        if let theirs = other.caseRandomization { caseRandomization = (caseRandomization ?? true) && theirs }
        queries += other.queries
        failures += other.failures
    }
}
