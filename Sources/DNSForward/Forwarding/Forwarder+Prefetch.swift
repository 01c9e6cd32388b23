extension Forwarder {
    /// Refreshes the entry that answered the UDP query in `wire`, after
    /// `answerFromCache` returned it with `prefetch` set (its hit claimed the
    /// refresh): the fast path does not parse, so the query is parsed here,
    /// after its reply is on its way.
    public func prefetch(_ wire: UnsafeRawBufferPointer, endpoints: PolicyEndpoints? = nil,
                         now: MonotonicInstant) -> [Action] {
        // Checked before parsing too: a full table costs the hit no allocation.
        guard hasRoomForPrefetch, case .answer(let query) = ClientQueryParser.classify(wire) else { return [] }
        let decision = decide(query.key.name, endpoints: endpoints)
        guard decision.cacheScope != nil else { return [] }
        return startPrefetch(of: query.routed(decision), now: now)
    }

    /// One attempt with no waiters and no owner: its answer replaces the entry
    /// (`answerWaiters` stores it, and has no client to send it to). A client
    /// whose miss comes while it is in flight joins it like any other attempt.
    /// Not started when one is in flight for the key already or the prefetch
    /// cap is reached: the entry then expires as it would without prefetch.
    func startPrefetch(of query: ClientQuery, now: MonotonicInstant) -> [Action] {
        guard configuration.prefetch, inFlight[query.key] == nil, hasRoomForPrefetch else { return [] }
        counters.prefetches += 1
        return startAttempt(for: query, owner: nil, waiters: [], isPrefetch: true, now: now)
    }

    /// Under the prefetch cap and the global one: a client miss always finds
    /// `maximumInFlight - prefetchLimit` slots that prefetches cannot take.
    private var hasRoomForPrefetch: Bool {
        prefetchesInFlight < configuration.prefetchLimit && attempts.count < configuration.maximumInFlight
    }
}
