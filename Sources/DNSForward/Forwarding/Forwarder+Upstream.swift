extension Forwarder {
    /// A message arrived on the socket of attempt `token`.
    public func handleUpstreamReply(_ wire: UnsafeRawBufferPointer, token: UInt64, now: MonotonicInstant) -> [Action] {
        guard let attempt = attempts[token] else { return [] }
        let layout: MessageLayout
        switch UpstreamReplyValidator.validate(wire, expectedID: attempt.upstreamID, question: attempt.question,
                                               exactName: attempt.sentName) {
        case .wrongCase:
            return caseMismatch(on: attempt, token: token, now: now)
        case .reject(let reason):
            counters.rejectedReplies += 1
            logger.debug("rejected upstream reply", metadata: [
                "query.name": "\(attempt.question.name)", "upstream.index": "\(attempt.upstream)", "reason": "\(reason)",
            ])
            return []
        case .accept(let accepted):
            layout = accepted
        }
        if attempt.sentName != nil { caseRandomization.recordEcho(upstream: attempt.upstream) }
        finish(token)
        selector.recordSuccess(attempt.upstream, rtt: attempt.retransmissions == 0 ? attempt.sentAt.duration(to: now) : nil,
                               sentAt: attempt.sentAt)
        let actions: [Action] = [.closeUpstream(token: token)]
        guard !attempt.isProbe, let key = attempt.key, let header = DNSHeader(wire: wire) else { return actions }

        if header.isTruncated, attempt.transport == .udp {
            // RFC 7766 5: the full answer is one TCP query away, same upstream.
            return actions + askOverTCP(attempt, now: now)
        }
        // This upstream can't or won't answer; another may.
        if header.responseCode.isAboutTheUpstream, let next = attempt.onNextUpstream {
            return actions + send(next, now: now)
        }
        inFlight[key] = nil
        if attempt.isPrefetch, header.responseCode.isAboutTheUpstream {
            // No upstream would refresh it: the entry still in the cache beats the failure.
            counters.prefetchFailures += 1
            if attempt.waiters.isEmpty { return actions }
        }
        let reply = attempt.sentName == nil ? Array(wire) : CaseRandomization.restoring(attempt.question.name, in: Array(wire))
        return actions + answerWaiters(of: attempt, key: key, reply: reply, layout: layout, header: header, now: now)
    }

    /// Our ID and question in another case: a forger who guessed the ID, or an
    /// upstream that rewrites case. Either way the answer is not taken over
    /// UDP but asked for again over TCP, and the socket's alarm hears of it.
    private func caseMismatch(on attempt: Attempt, token: UInt64, now: MonotonicInstant) -> [Action] {
        counters.caseMismatches += 1
        logger.debug("upstream reply in another letter case", metadata: [
            "query.name": "\(attempt.question.name)", "upstream.index": "\(attempt.upstream)",
        ])
        if caseRandomization.recordMismatch(upstream: attempt.upstream) {
            logger.warning("upstream does not preserve the letter case of questions: DNS 0x20 off for it", metadata: [
                "upstream.address": "\(selector.names[attempt.upstream])",
                "replies": "\(CaseRandomization.mismatchesBeforeOff)",
            ])
        }
        return [.suspectForgery(token: token)] + retryOverTCP(token: token, now: now)
    }

    /// A message on a shared upstream socket that names no query waiting there
    /// (too short to carry an ID, or an ID nobody used): counted and dropped
    /// like any other rejected reply.
    public func rejectUnmatchedReply(reason: @autoclosure () -> String) {
        counters.rejectedReplies += 1
        logger.debug("rejected upstream reply", metadata: ["reason": "\(reason())"])
    }

    /// The attempt's socket reported an error (ICMP unreachable, refused TCP
    /// connect, a connection closed early): move on now instead of waiting.
    public func handleUpstreamFailure(token: UInt64, now: MonotonicInstant) -> [Action] {
        guard let attempt = attempts[token] else { return [] }
        finish(token)
        if attempt.passthrough == nil { selector.recordFailure(attempt.upstream, now: now) }
        return [.closeUpstream(token: token)] + retryOrFail(attempt, now: now)
    }

    /// Attempts due a retransmission get it; timed-out attempts move to their
    /// next upstream or fail; due probes go out.
    public func expire(now: MonotonicInstant) -> [Action] {
        var actions: [Action] = []
        while let head = deadlines.first, head.deadline <= now {
            deadlines.removeFirst()
            guard let attempt = attempts[head.token] else { continue }
            if attempt.deadline != head.deadline {
                // Its retransmission; not when its timeout is due too (a late pass): it fails over instead.
                if now < attempt.deadline { actions += retransmit(token: head.token, now: now) }
                continue
            }
            finish(head.token)
            counters.timeouts += 1
            if attempt.passthrough == nil { selector.recordFailure(attempt.upstream, now: now) }
            logger.debug("upstream timed out", metadata: [
                "query.name": "\(attempt.question.name)", "upstream.index": "\(attempt.upstream)",
            ])
            actions.append(.closeUpstream(token: head.token))
            actions += retryOrFail(attempt, now: now)
        }
        for upstream in selector.dueProbes(now: now) {
            actions += startProbe(of: upstream, now: now)
        }
        return actions
    }
}

private extension DNSResponseCode {
    /// The upstream can't or won't answer (FORMERR, SERVFAIL, NOTIMP,
    /// REFUSED), which says nothing about the name: another upstream may.
    var isAboutTheUpstream: Bool {
        self == .serverFailure || self == .refused || self == .notImplemented || self == .formatError
    }
}
