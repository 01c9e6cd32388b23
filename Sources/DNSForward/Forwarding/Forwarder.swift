import Logging

/// The answering state machine: client queries in, cache and upstream work,
/// replies out. Single-threaded by design (one event loop owns it), but its
/// `cache` may be shared with forwarders on other threads, so it reads a
/// cache entry outside the cache's lock only for parts fixed at creation;
/// time comes in as `now`, so tests drive it without sockets or sleeping.
public final class Forwarder<Client: Sendable> {
    public typealias Action = ForwarderAction<Client>

    struct Waiter {
        let client: Client
        let query: ClientQuery
        let receivedAt: ContinuousClock.Instant
    }

    /// One upstream query in flight: for a cache key (with the clients waiting
    /// on it) or a health probe (no key, no clients).
    struct Attempt {
        let key: CacheKey?
        let question: DNSQuestion
        let questionWire: ArraySlice<UInt8>
        let requestFlags: UInt16
        var waiters: [Waiter]
        /// Upstreams in the order this query tries them, and where it is.
        let plan: [Int]
        var position: Int
        var upstreamID: UInt16
        var transport: Transport
        var sentAt: ContinuousClock.Instant
        var deadline: ContinuousClock.Instant

        var upstream: Int { plan[position] }
        var isProbe: Bool { key == nil }
        var dnssecOK: Bool { key?.dnssecOK ?? false }
    }

    public struct Counters: Sendable {
        public var queries = 0
        public var answeredFromCache = 0
        public var answeredStale = 0
        public var answeredFromZones = 0
        public var forwarded = 0
        public var coalesced = 0
        public var answeredFromUpstream = 0
        public var rejectedReplies = 0
        public var timeouts = 0
        public var tcpRetries = 0
        public var serverFailures = 0
        public var overloaded = 0
        public var dropped = 0
    }

    /// Clients waiting on one key at most; more get SERVFAIL (a flood of one name
    /// must not grow memory without bound).
    static var maximumWaitersPerKey: Int { 1024 }

    public private(set) var configuration: ForwarderConfiguration
    public private(set) var counters = Counters()
    public let cache: DNSCache
    let selector: UpstreamSelector
    /// Zones answered authoritatively, before cache and upstreams. Replaced
    /// whole on reload, so a failed reload leaves the previous set serving.
    public var localZones: LocalZones = .empty
    private var attempts: [UInt64: Attempt] = [:]
    private var inFlight: [CacheKey: UInt64] = [:]
    private var deadlines = DeadlineQueue()
    private var nextToken: UInt64 = 1
    /// The fast path's cache key name, refilled per query in place.
    private var scratchName: [UInt8] = []
    private let makeID: () -> UInt16
    private let logger: Logger

    /// `cache`: one shared with other forwarders (worker threads); by default
    /// a cache of its own, sized by `configuration.cache`.
    public init(configuration: ForwarderConfiguration, logger: Logger, cache: DNSCache? = nil,
                makeID: (() -> UInt16)? = nil) {
        self.configuration = configuration
        self.logger = logger
        if let makeID {
            self.makeID = makeID
        } else {
            let ids = QueryIDSource()
            self.makeID = { ids.next() }
        }
        self.cache = cache ?? DNSCache(configuration: configuration.cache)
        selector = UpstreamSelector(names: configuration.upstreamNames, policy: configuration.upstreamPolicy,
                                    downAfter: configuration.upstreamDownAfter,
                                    probeInterval: configuration.upstreamProbeInterval, logger: logger)
    }

    /// Applies settings that can change under a running daemon (SIGHUP): TTL
    /// policy, timeouts, reply size, in-flight limit. Upstreams and cache size
    /// need a restart; their values in `new` are ignored. Returns the names of
    /// settings that differ but were not applied.
    @discardableResult
    public func reconfigure(_ new: ForwarderConfiguration) -> [String] {
        var ignored: [String] = []
        if new.upstreamNames != configuration.upstreamNames { ignored.append("upstream") }
        if new.upstreamPolicy != configuration.upstreamPolicy { ignored.append("upstream-policy") }
        if new.cache.capacity != configuration.cache.capacity { ignored.append("cache-size") }
        var applied = new
        applied.upstreamNames = configuration.upstreamNames
        applied.upstreamPolicy = configuration.upstreamPolicy
        applied.cache.capacity = configuration.cache.capacity
        configuration = applied
        cache.configuration = applied.cache
        return ignored
    }

    /// Upstream queries outstanding, probes included.
    public var inFlightCount: Int { attempts.count }
    public var upstreamHealth: [UpstreamHealth] {
        selector.health.enumerated().map { index, state in
            UpstreamHealth(name: configuration.upstreamNames[index], isDown: state.isDown, queries: state.queries,
                           failures: state.failures, smoothedRTT: state.smoothedRTT, latency: state.latency)
        }
    }

    /// When `expire` next has work, for the event loop's wait timeout.
    public var nextDeadline: ContinuousClock.Instant? {
        while let head = deadlines.first, attempts[head.token]?.deadline != head.deadline {
            deadlines.removeFirst()
        }
        switch (deadlines.first?.deadline, selector.nextProbe) {
        case (let a?, let b?): return min(a, b)
        case (let a?, nil): return a
        case (nil, let b): return b
        }
    }

    // MARK: Client side

    public func handleQuery(_ wire: UnsafeRawBufferPointer, from client: Client, transport: Transport = .udp,
                            now: ContinuousClock.Instant) -> [Action] {
        counters.queries += 1
        switch ClientQueryParser.classify(wire) {
        case .drop(let reason):
            counters.dropped += 1
            logger.debug("dropped client datagram", metadata: ["reason": "\(reason)"])
            return []
        case .respond(let bytes, let code, let question):
            return [.reply(to: client, bytes: bytes,
                           details: ReplyDetails(code: code, source: .daemon, question: question, receivedAt: now))]
        case .answer(let parsed):
            var query = parsed
            if transport == .tcp {
                query = parsed.overTCP()
            } else {
                query.maximumReply = min(query.maximumReply, configuration.maximumUDPReply)
            }
            return answer(query, from: client, now: now)
        }
    }

    /// The cache-hit fast path for a UDP query, without heap allocation: the
    /// key from the wire question, the stored answer patched (ID, the client's
    /// case, aged TTLs, OPT) straight into `out`. Returns the reply's length
    /// and code, or nil when the query needs `handleQuery` (any other shape,
    /// a name local zones answer, no fresh entry, a reply over the client's
    /// limit); nothing is counted then, so `handleQuery` counts it once.
    public func answerFromCache(_ wire: UnsafeRawBufferPointer, now: ContinuousClock.Instant,
                                into out: UnsafeMutableRawBufferPointer) -> (length: Int, code: DNSResponseCode)? {
        guard let plain = ClientQueryParser.plainQuery(wire) else { return nil }
        scratchName.removeAll(keepingCapacity: true)
        for offset in DNSHeader.length..<plain.nameEnd { scratchName.append(DNSName.foldCase(wire[offset])) }
        if localZones.mayAnswer(name: scratchName, class: plain.qclass) { return nil }
        let key = CacheKey(name: scratchName, type: plain.type, class: plain.qclass, dnssecOK: plain.dnssecOK,
                           checkingDisabled: plain.header.checkingDisabled)
        let client = ReplyRenderer.Personalization(
            id: plain.header.id, requestFlags: plain.header.flags & 0x0130, hasEDNS: plain.ednsSize != nil,
            dnssecOK: plain.dnssecOK,
            maximumReply: min(plain.ednsSize.map { max(512, Int($0)) } ?? 512, configuration.maximumUDPReply))
        let name = UnsafeRawBufferPointer(rebasing: wire[DNSHeader.length..<plain.nameEnd])
        // Found, written and counted under one acquisition of the key's shard lock.
        let written = cache.withFreshEntry(for: key, now: now) { entry in
            let age = entry.age(at: now)
            return entry.withParts { stored in
                ReplyRenderer.write(stored.wire, ttlOffsets: stored.ttlOffsets, optRange: stored.optRange,
                                    recordsAfterOPT: stored.recordsAfterOPT, ttl: .aged(age), for: client,
                                    questionName: name, into: out)
            }
        }
        guard let length = written else { return nil }
        counters.queries += 1
        counters.answeredFromCache += 1
        // The reply's own header, just written: its code is the stored one.
        return (length, DNSHeader(wire: UnsafeRawBufferPointer(rebasing: out[..<length]))?.responseCode ?? .serverFailure)
    }

    private func answer(_ query: ClientQuery, from client: Client, now: ContinuousClock.Instant) -> [Action] {
        if let local = localZones.answer(query) {
            counters.answeredFromZones += 1
            return [.reply(to: client, bytes: local.bytes,
                           details: ReplyDetails(code: local.code, source: .localZone, question: query.question, receivedAt: now))]
        }
        switch cache.lookup(query.key, now: now) {
        case .fresh(let answer):
            counters.answeredFromCache += 1
            return [.reply(to: client, bytes: ReplyRenderer.render(answer, for: query, now: now),
                           details: ReplyDetails(code: answer.responseCode, source: .cache, question: query.question,
                                                 receivedAt: now))]
        case .stale(let answer, let serveStaleUntil):
            if let until = serveStaleUntil, now < until {
                // Upstreams failed for this name moments ago: answer at once and
                // refresh in the background (RFC 8767 4, failure recheck timer).
                var actions = [staleReply(answer, for: Waiter(client: client, query: query, receivedAt: now), now: now)]
                if inFlight[query.key] == nil, attempts.count < configuration.maximumInFlight {
                    actions += startAttempt(for: query, waiters: [], now: now)
                }
                return actions
            }
            return forward(query, from: client, now: now)
        case .miss:
            return forward(query, from: client, now: now)
        }
    }

    private func forward(_ query: ClientQuery, from client: Client, now: ContinuousClock.Instant) -> [Action] {
        if let token = inFlight[query.key], attempts[token] != nil {
            guard attempts[token]!.waiters.count < Self.maximumWaitersPerKey else {
                return [serverFailure(for: Waiter(client: client, query: query, receivedAt: now), now: now)]
            }
            attempts[token]!.waiters.append(Waiter(client: client, query: query, receivedAt: now))
            counters.coalesced += 1
            return []
        }
        guard attempts.count < configuration.maximumInFlight else {
            counters.overloaded += 1
            return [serverFailure(for: Waiter(client: client, query: query, receivedAt: now), now: now)]
        }
        return startAttempt(for: query, waiters: [Waiter(client: client, query: query, receivedAt: now)], now: now)
    }

    private func startAttempt(for query: ClientQuery, waiters: [Waiter], now: ContinuousClock.Instant) -> [Action] {
        counters.forwarded += 1
        let attempt = Attempt(key: query.key, question: query.question,
                              questionWire: query.questionWire[...],
                              requestFlags: query.requestFlags, waiters: waiters, plan: selector.plan(), position: 0,
                              upstreamID: 0, transport: .udp, sentAt: now, deadline: now)
        return send(attempt, now: now)
    }

    /// Registers `attempt` under a new token with a fresh ID and deadline, and
    /// asks for its query to be sent.
    private func send(_ attempt: Attempt, now: ContinuousClock.Instant) -> [Action] {
        var attempt = attempt
        attempt.upstreamID = makeID()
        attempt.sentAt = now
        attempt.deadline = now + configuration.upstreamTimeout
        let token = nextToken
        nextToken += 1
        attempts[token] = attempt
        if let key = attempt.key { inFlight[key] = token }
        deadlines.append(token: token, deadline: attempt.deadline)
        selector.recordQuery(attempt.upstream)
        let wire = attempt.isProbe
            ? UpstreamQuery.probe(id: attempt.upstreamID)
            : UpstreamQuery.wire(id: attempt.upstreamID, question: attempt.questionWire,
                                 requestFlags: attempt.requestFlags, dnssecOK: attempt.dnssecOK)
        return [.sendUpstream(UpstreamRequest(token: token, upstream: attempt.upstream, id: attempt.upstreamID,
                                              bytes: wire, transport: attempt.transport))]
    }

    // MARK: Upstream side

    /// A message arrived on the socket of attempt `token`.
    public func handleUpstreamReply(_ wire: UnsafeRawBufferPointer, token: UInt64, now: ContinuousClock.Instant) -> [Action] {
        guard let attempt = attempts[token] else { return [] }
        let layout: MessageLayout
        switch UpstreamReplyValidator.validate(wire, expectedID: attempt.upstreamID, question: attempt.question) {
        case .reject(let reason):
            counters.rejectedReplies += 1
            logger.debug("rejected upstream reply", metadata: [
                "query.name": "\(attempt.question.name)", "upstream.index": "\(attempt.upstream)", "reason": "\(reason)",
            ])
            return []
        case .accept(let accepted):
            layout = accepted
        }
        finish(token)
        selector.recordSuccess(attempt.upstream, rtt: attempt.sentAt.duration(to: now), sentAt: attempt.sentAt)
        var actions: [Action] = [.closeUpstream(token: token)]
        guard !attempt.isProbe, let key = attempt.key, let header = DNSHeader(wire: wire) else { return actions }

        if header.isTruncated, attempt.transport == .udp {
            // RFC 7766 5: the full answer is one TCP query away, same upstream.
            counters.tcpRetries += 1
            var retry = attempt
            retry.transport = .tcp
            return actions + send(retry, now: now)
        }
        let code = header.responseCode
        if code == .serverFailure || code == .refused || code == .notImplemented || code == .formatError,
           attempt.position + 1 < attempt.plan.count {
            // This upstream can't or won't answer; another may.
            var next = attempt
            next.position += 1
            next.transport = .udp
            return actions + send(next, now: now)
        }
        inFlight[key] = nil
        let reply = Array(wire)
        let stored = store(reply, layout: layout, header: header, key: key, upstream: attempt.upstream, now: now)
        counters.answeredFromUpstream += attempt.waiters.count
        for waiter in attempt.waiters {
            let bytes = stored.map { ReplyRenderer.render($0, for: waiter.query, now: now) }
                ?? ReplyRenderer.personalize(reply, optRange: layout.optRange, recordsAfterOPT: layout.recordsAfterOPT,
                                             for: waiter.query)
            actions.append(.reply(to: waiter.client, bytes: bytes,
                                  details: ReplyDetails(code: code, source: .upstream(attempt.upstream),
                                                        question: waiter.query.question, receivedAt: waiter.receivedAt)))
        }
        return actions
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
    public func handleUpstreamFailure(token: UInt64, now: ContinuousClock.Instant) -> [Action] {
        guard let attempt = attempts[token] else { return [] }
        finish(token)
        selector.recordFailure(attempt.upstream, now: now)
        return [.closeUpstream(token: token)] + retryOrFail(attempt, now: now)
    }

    /// Timed-out attempts move to their next upstream or fail; due probes go out.
    public func expire(now: ContinuousClock.Instant) -> [Action] {
        var actions: [Action] = []
        while let head = deadlines.first, head.deadline <= now {
            deadlines.removeFirst()
            guard let attempt = attempts[head.token], attempt.deadline == head.deadline else { continue }
            finish(head.token)
            counters.timeouts += 1
            selector.recordFailure(attempt.upstream, now: now)
            logger.debug("upstream timed out", metadata: [
                "query.name": "\(attempt.question.name)", "upstream.index": "\(attempt.upstream)",
            ])
            actions.append(.closeUpstream(token: head.token))
            actions += retryOrFail(attempt, now: now)
        }
        for upstream in selector.dueProbes(now: now) {
            let probe = Attempt(key: nil, question: UpstreamQuery.probeQuestion, questionWire: [],
                                requestFlags: 0x0100, waiters: [], plan: [upstream], position: 0, upstreamID: 0,
                                transport: .udp, sentAt: now, deadline: now)
            actions += send(probe, now: now)
        }
        return actions
    }

    private func finish(_ token: UInt64) {
        guard let attempt = attempts.removeValue(forKey: token) else { return }
        if let key = attempt.key, inFlight[key] == token { inFlight[key] = nil }
    }

    private func retryOrFail(_ attempt: Attempt, now: ContinuousClock.Instant) -> [Action] {
        guard !attempt.isProbe, let key = attempt.key else { return [] }
        if attempt.position + 1 < attempt.plan.count {
            var next = attempt
            next.position += 1
            next.transport = .udp
            return send(next, now: now)
        }
        // Every upstream failed. RFC 8767: an expired answer beats SERVFAIL.
        if case .stale(let answer, _) = cache.lookup(key, now: now) {
            cache.markServeStale(key, until: now + .seconds(Int64(configuration.cache.staleAnswerTTL)))
            return attempt.waiters.map { staleReply(answer, for: $0, now: now) }
        }
        if let first = attempt.waiters.first {
            let wire = ResponseBuilder.response(id: 0, flags: attempt.requestFlags, question: first.query.question,
                                                code: .serverFailure, withOPT: true, dnssecOK: attempt.dnssecOK)
            if let header = wire.withUnsafeBytes({ DNSHeader(wire: $0) }), let layout = wire.withUnsafeBytes({ MessageLayout(wire: $0) }) {
                _ = store(wire, layout: layout, header: header, key: key, upstream: nil, now: now)
            }
        }
        return attempt.waiters.map { serverFailure(for: $0, now: now) }
    }

    // MARK: Replies

    private func serverFailure(for waiter: Waiter, now: ContinuousClock.Instant) -> Action {
        counters.serverFailures += 1
        return .reply(to: waiter.client, bytes: ResponseBuilder.serverFailure(for: waiter.query),
                      details: ReplyDetails(code: .serverFailure, source: .daemon, question: waiter.query.question,
                                            receivedAt: waiter.receivedAt))
    }

    private func staleReply(_ answer: CacheEntry, for waiter: Waiter, now: ContinuousClock.Instant) -> Action {
        counters.answeredStale += 1
        cache.recordStaleHit(waiter.query.key)
        let bytes = ReplyRenderer.render(answer, for: waiter.query, now: now, fixedTTL: configuration.cache.staleAnswerTTL)
        return .reply(to: waiter.client, bytes: bytes,
                      details: ReplyDetails(code: answer.responseCode, source: .staleCache, question: waiter.query.question,
                                            receivedAt: waiter.receivedAt))
    }

    /// Caches `reply` if policy allows, with every TTL clamped to the entry's
    /// lifetime so clients never see a TTL longer than we keep it.
    private func store(_ reply: [UInt8], layout: MessageLayout, header: DNSHeader, key: CacheKey, upstream: Int?,
                       now: ContinuousClock.Instant) -> CachedAnswer? {
        guard case .store(let kind, let lifetime) = CachePolicy.decide(header: header, layout: layout,
                                                                        configuration: configuration.cache) else {
            return nil
        }
        var wire = reply
        let floor = kind == .positive ? configuration.cache.minimumTTL : 0
        wire.withUnsafeMutableBytes { bytes in
            for offset in layout.ttlOffsets.lazy.map(Int.init) {
                let ttl = UInt32(bigEndian: bytes.loadUnaligned(fromByteOffset: offset, as: UInt32.self))
                let clamped = min(lifetime, max(floor, ttl & 0x8000_0000 != 0 ? 0 : ttl))
                bytes.storeBytes(of: clamped.bigEndian, toByteOffset: offset, as: UInt32.self)
            }
        }
        let answer = CachedAnswer(wire: wire, layout: layout, kind: kind, storedAt: now, lifetime: lifetime,
                                  upstream: upstream)
        cache.insert(answer, for: key, now: now)
        return answer
    }
}

/// One upstream's health as the selector sees it, for stats.
public struct UpstreamHealth: Sendable {
    public let name: String
    public let isDown: Bool
    public let queries: Int
    public let failures: Int
    public let smoothedRTT: Duration?
    public let latency: LatencyHistogram
}
