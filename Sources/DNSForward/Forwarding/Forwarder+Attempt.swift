extension Forwarder {
    /// One upstream query in flight: for a cache key (with the clients waiting
    /// on it) or a health probe (no key, no clients).
    struct Attempt {
        let key: CacheKey?
        /// The client whose miss started it, which it counts against under the
        /// per-client quota through every retry; nil for probes.
        let owner: Client.QuotaKey?
        let question: DNSQuestion
        let requestFlags: HeaderFlags
        var waiters: [Waiter]
        /// Upstreams in the order this query tries them, and where it is.
        let plan: [Int]
        var position: Int
        var upstreamID: UInt16
        /// The name as sent with randomized case (DNS 0x20), which the reply
        /// must echo exactly; nil when sent as the client spelled it.
        var sentName: DNSName? = nil
        var transport: Transport
        var sentAt: MonotonicInstant
        var deadline: MonotonicInstant
        /// Copies sent after the first: replies to it give no RTT sample (Karn's
        /// rule). Its next retransmission, if any, is its one entry in `deadlines`
        /// other than `deadline`.
        var retransmissions: UInt8 = 0
        /// A refresh of a cached entry near expiry (`PrefetchRule`): started by no
        /// client (so `owner` is nil), counted against `prefetchLimit`.
        var isPrefetch = false
        /// Passthrough: the server the client targeted, asked on port 53.
        var passthrough: PolicyAddress? = nil

        var upstream: Int { plan[position] }
        var isProbe: Bool { key == nil }
        var dnssecOK: Bool { key?.dnssecOK ?? false }

        /// The same query for the plan's next upstream, over UDP again; nil
        /// when this was the last.
        var onNextUpstream: Attempt? {
            guard position + 1 < plan.count else { return nil }
            var next = self
            next.position += 1
            next.transport = .udp
            return next
        }
    }

    /// `owner`: the client charged under the per-client quota; nil for a prefetch.
    func startAttempt(for query: ClientQuery, owner: Client.QuotaKey?, waiters: [Waiter], isPrefetch: Bool = false,
                      now: MonotonicInstant) -> [Action] {
        counters.forwarded += 1
        let route = plan(for: query.decision)
        let attempt = Attempt(key: query.key, owner: owner, question: query.question,
                              requestFlags: query.requestFlags, waiters: waiters, plan: route.plan, position: 0,
                              upstreamID: 0, transport: .udp, sentAt: now, deadline: now, isPrefetch: isPrefetch,
                              passthrough: route.passthrough)
        return send(attempt, now: now)
    }

    /// A health probe of `upstream`: no key, no clients.
    func startProbe(of upstream: Int, now: MonotonicInstant) -> [Action] {
        let probe = Attempt(key: nil, owner: nil, question: UpstreamQuery.probeQuestion,
                            requestFlags: UpstreamQuery.probeFlags, waiters: [], plan: [upstream], position: 0,
                            upstreamID: 0, transport: .udp, sentAt: now, deadline: now)
        return send(probe, now: now)
    }

    /// Registers `attempt` under a new token with a fresh ID and deadline, and
    /// asks for its query to be sent.
    func send(_ attempt: Attempt, now: MonotonicInstant) -> [Action] {
        var attempt = attempt
        attempt.upstreamID = makeID()
        attempt.sentAt = now
        attempt.deadline = now + configuration.upstreamTimeout
        attempt.retransmissions = 0
        let token = nextToken
        nextToken += 1
        if retransmits(attempt) {
            let at = MonotonicInstant(nanoseconds: now.nanoseconds
                &+ selector.retransmitTimeout(attempt.upstream, within: retransmitTimeoutBounds))
            if at < attempt.deadline { deadlines.append(token: token, deadline: at) }
        }
        if !attempt.isProbe { attempt.sentName = nameToSend(for: attempt) }
        attempts[token] = attempt
        if let key = attempt.key { inFlight[key] = token }
        if let owner = attempt.owner { inFlightByClient[owner, default: 0] += 1 }
        if attempt.isPrefetch { prefetchesInFlight += 1 }
        deadlines.append(token: token, deadline: attempt.deadline)
        selector.recordQuery(attempt.upstream)
        return [.sendUpstream(request(for: attempt, token: token))]
    }

    /// The attempt's query on the wire; a retransmission is the same bytes again.
    private func request(for attempt: Attempt, token: UInt64) -> UpstreamRequest {
        let wire = attempt.isProbe
            ? UpstreamQuery.probe(id: attempt.upstreamID)
            : UpstreamQuery.wire(id: attempt.upstreamID, name: attempt.sentName?.wire ?? attempt.question.name.wire,
                                 type: attempt.question.type, class: attempt.question.class,
                                 requestFlags: attempt.requestFlags, dnssecOK: attempt.dnssecOK)
        return UpstreamRequest(token: token, upstream: attempt.upstream, id: attempt.upstreamID, bytes: wire,
                               transport: attempt.transport, passthroughTarget: attempt.passthrough,
                               isRetransmission: attempt.retransmissions > 0)
    }

    /// Clients' queries over UDP to a datagram upstream; not probes, whose
    /// silence is what they measure.
    private func retransmits(_ attempt: Attempt) -> Bool {
        configuration.upstreamRetransmits > 0 && attempt.transport == .udp && !attempt.isProbe
            && (configuration.streamUpstreams.isEmpty || !configuration.streamUpstreams.contains(attempt.upstream))
    }

    /// The attempt `token`'s retransmit timer fired with no reply in: the same
    /// query (ID, letter case) on the same socket. The next waits twice as long
    /// as the attempt has waited so far (r, then 2r, 6r, ...: at least RFC 6298
    /// 5.5's doubling), while that is before the deadline.
    func retransmit(token: UInt64, now: MonotonicInstant) -> [Action] {
        guard var attempt = attempts[token] else { return [] }
        attempt.retransmissions += 1
        counters.retransmissions += 1
        let waited = attempt.sentAt.duration(to: now)
        let next = now + waited * 2
        if Int(attempt.retransmissions) < configuration.upstreamRetransmits, next < attempt.deadline {
            deadlines.append(token: token, deadline: next)
        }
        attempts[token] = attempt
        return [.sendUpstream(request(for: attempt, token: token))]
    }

    /// The question's name as it goes upstream: over UDP to an upstream that
    /// keeps case, in random case (remembered to check the reply against);
    /// otherwise as the client spelled it. TCP gains nothing from 0x20: no
    /// off-path forger can inject into the connection.
    private func nameToSend(for attempt: Attempt) -> DNSName? {
        guard attempt.transport == .udp,
              caseRandomization.isUsed(for: attempt.upstream, enabled: configuration.caseRandomization) else {
            return nil
        }
        return caseRandomization.randomized(attempt.question.name)
    }

    /// Asks the attempt `token`'s question again over TCP, same upstream: its
    /// UDP socket is not to be trusted (forged replies arrive on it).
    public func retryOverTCP(token: UInt64, now: MonotonicInstant) -> [Action] {
        guard let attempt = attempts[token], attempt.transport == .udp, !attempt.isProbe else { return [] }
        finish(token)
        return [.closeUpstream(token: token)] + askOverTCP(attempt, now: now)
    }

    /// The same query to the same upstream over TCP (after TC, RFC 7766 5, or forgery on its socket).
    func askOverTCP(_ attempt: Attempt, now: MonotonicInstant) -> [Action] {
        counters.tcpRetries += 1
        var retry = attempt
        retry.transport = .tcp
        return send(retry, now: now)
    }

    func finish(_ token: UInt64) {
        guard let attempt = attempts.removeValue(forKey: token) else { return }
        if let key = attempt.key, inFlight[key] == token { inFlight[key] = nil }
        if let owner = attempt.owner {
            let left = inFlightByClient[owner, default: 1] - 1
            inFlightByClient[owner] = left > 0 ? left : nil
        }
        if attempt.isPrefetch { prefetchesInFlight -= 1 }
    }

    /// After a failed attempt: the next upstream, else a stale answer, else SERVFAIL.
    func retryOrFail(_ attempt: Attempt, now: MonotonicInstant) -> [Action] {
        guard !attempt.isProbe, let key = attempt.key else { return [] }
        if let next = attempt.onNextUpstream { return send(next, now: now) }
        if attempt.isPrefetch {
            counters.prefetchFailures += 1
            // No client waits on it: the entry stays as it was, to serve or expire.
            if attempt.waiters.isEmpty { return [] }
        }
        // Every upstream failed. RFC 8767: an expired answer beats SERVFAIL.
        if case .stale(let answer, _) = cache.lookup(key, now: now) {
            cache.markServeStale(key, until: now + .seconds(Int64(configuration.cache.staleAnswerTTL)))
            return attempt.waiters.map { staleReply(answer, for: $0, now: now) }
        }
        if let first = attempt.waiters.first { storeServerFailure(for: first.query, attempt: attempt, key: key, now: now) }
        return attempt.waiters.map { serverFailure(for: $0) }
    }
}
