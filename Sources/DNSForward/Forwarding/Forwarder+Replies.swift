extension Forwarder {
    /// The upstream's accepted answer, stored if policy allows, personalized for every waiting client.
    func answerWaiters(of attempt: Attempt, key: CacheKey, reply: [UInt8], layout: MessageLayout, header: DNSHeader,
                       now: MonotonicInstant) -> [Action] {
        let stored = store(reply, layout: layout, header: header, key: key, upstream: attempt.upstream, now: now)
        counters.answeredFromUpstream += attempt.waiters.count
        return attempt.waiters.map { waiter in
            let bytes = stored.map { ReplyRenderer.render($0, for: waiter.query, now: now) }
                ?? ReplyRenderer.personalize(reply, optRange: layout.optRange, recordsAfterOPT: layout.recordsAfterOPT,
                                             for: waiter.query)
            return .reply(to: waiter.client, bytes: bytes,
                          details: ReplyDetails(code: header.responseCode, source: .upstream(attempt.upstream),
                                                question: waiter.query.question, receivedAt: waiter.receivedAt,
                                                rule: waiter.query.decision.rule))
        }
    }

    func serverFailure(for waiter: Waiter) -> Action {
        counters.serverFailures += 1
        return .reply(to: waiter.client, bytes: ResponseBuilder.serverFailure(for: waiter.query),
                      details: ReplyDetails(code: .serverFailure, source: .daemon, question: waiter.query.question,
                                            receivedAt: waiter.receivedAt, rule: waiter.query.decision.rule))
    }

    func staleReply(_ answer: CacheEntry, for waiter: Waiter, now: MonotonicInstant) -> Action {
        counters.answeredStale += 1
        cache.recordStaleHit(waiter.query.key)
        let bytes = ReplyRenderer.render(answer, for: waiter.query, now: now, fixedTTL: configuration.cache.staleAnswerTTL)
        return .reply(to: waiter.client, bytes: bytes,
                      details: ReplyDetails(code: answer.responseCode, source: .staleCache, question: waiter.query.question,
                                            receivedAt: waiter.receivedAt, rule: waiter.query.decision.rule))
    }

    /// Every upstream failed: remember SERVFAIL for the key a while (RFC 9520),
    /// as if an upstream had said it, so a failing name does not hammer them.
    func storeServerFailure(for query: ClientQuery, attempt: Attempt, key: CacheKey, now: MonotonicInstant) {
        let wire = ResponseBuilder.response(id: 0, flags: attempt.requestFlags, question: query.question,
                                            code: .serverFailure, withOPT: true, dnssecOK: attempt.dnssecOK)
        wire.withUnsafeBytes { bytes in
            guard let header = DNSHeader(wire: bytes), let layout = MessageLayout(wire: bytes) else { return }
            _ = store(wire, layout: layout, header: header, key: key, upstream: nil, now: now)
        }
    }

    /// Caches `reply` if policy allows, with every TTL clamped to the entry's
    /// lifetime so clients never see a TTL longer than we keep it.
    func store(_ reply: [UInt8], layout: MessageLayout, header: DNSHeader, key: CacheKey, upstream: Int?,
               now: MonotonicInstant) -> CachedAnswer? {
        guard case .store(let kind, let lifetime) = CachePolicy.decide(header: header, layout: layout,
                                                                        configuration: configuration.cache) else {
            return nil
        }
        let floor = kind == .positive ? configuration.cache.minimumTTL : 0
        let wire = TTLRewrite.clamped(floor: floor, ceiling: lifetime).applied(to: reply, at: layout.ttlOffsets)
        let answer = CachedAnswer(wire: wire, layout: layout, kind: kind, storedAt: now, lifetime: lifetime,
                                  upstream: upstream)
        cache.insert(answer, for: key, now: now)
        return answer
    }
}
