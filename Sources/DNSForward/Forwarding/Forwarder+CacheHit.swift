extension Forwarder {
    /// The cache-hit fast path for a UDP query, without heap allocation: the
    /// key from the wire question, the stored answer patched (ID, the client's
    /// case, aged TTLs, OPT) straight into `out`. Returns the reply's length
    /// and code, or nil when the query needs `handleQuery` (any other shape,
    /// a name local zones answer, no fresh entry, a reply over the client's
    /// limit); nothing is counted then, so `handleQuery` counts it once.
    /// `prefetch`: this hit claimed the entry's refresh ahead of expiry
    /// (`PrefetchRule`); the caller sends the reply, then calls `prefetch(_:now:)`.
    /// `endpoints`: who asked whom, for `--route` (nil: unknown, no route matches).
    /// A name the policy answers itself (blocked, refused) goes the slow way.
    public func answerFromCache(_ wire: UnsafeRawBufferPointer, now: MonotonicInstant,
                                into out: UnsafeMutableRawBufferPointer, endpoints: PolicyEndpoints? = nil)
        -> (length: Int, code: DNSResponseCode, prefetch: Bool, rule: Int)? {
        guard let plain = ClientQueryParser.plainQuery(wire) else { return nil }
        // One copy and one pass in place: appending byte by byte checked the
        // buffer's uniqueness per byte, on every hit and miss.
        scratchName.removeAll(keepingCapacity: true)
        scratchName.append(contentsOf: UnsafeRawBufferPointer(rebasing: wire[DNSHeader.length..<plain.nameEnd]))
        scratchName.withUnsafeMutableBufferPointer { name in
            for index in name.indices { name[index] = DNSName.foldCase(name[index]) }
        }
        if localZones.mayAnswer(name: scratchName, class: plain.qclass) { return nil }
        let decision = decide(scratchName, endpoints: endpoints)
        guard let scope = decision.cacheScope else { return nil }
        let key = CacheKey(name: scratchName, type: plain.type, class: plain.qclass, dnssecOK: plain.dnssecOK,
                           checkingDisabled: plain.header.checkingDisabled, scope: scope)
        let client = ReplyRenderer.Personalization(
            id: plain.header.id, requestFlags: plain.header.flags.intersection(.request), hasEDNS: plain.ednsSize != nil,
            dnssecOK: plain.dnssecOK,
            maximumReply: min(ClientQueryParser.maximumReply(ednsSize: plain.ednsSize), configuration.maximumUDPReply))
        let name = UnsafeRawBufferPointer(rebasing: wire[DNSHeader.length..<plain.nameEnd])
        let prefetching = configuration.prefetch
        // Found, written, counted and its prefetch decided under one acquisition of the key's shard lock.
        let written = cache.withFreshEntry(for: key, now: now) { entry -> (length: Int, prefetch: Bool)? in
            let age = entry.age(at: now)
            let length = entry.withParts { stored in
                ReplyRenderer.write(stored.wire, ttlOffsets: stored.ttlOffsets, optRange: stored.optRange,
                                    recordsAfterOPT: stored.recordsAfterOPT, ttl: .aged(age), for: client,
                                    questionName: name, into: out)
            }
            // `hits` counts this hit only after the body: one more for it.
            return length.map { ($0, prefetching && entry.claimPrefetch(age: age, hits: entry.hits &+ 1)) }
        }
        guard let (length, prefetch) = written else { return nil }
        counters.queries += 1
        counters.answeredFromCache += 1
        count(decision)
        // The reply's own header, just written: its code is the stored one.
        return (length, DNSHeader(wire: UnsafeRawBufferPointer(rebasing: out[..<length]))?.responseCode ?? .serverFailure,
                prefetch, decision.rule)
    }
}
