import Logging

/// The answering state machine: client queries in, cache and upstream work,
/// replies out. Single-threaded by design (one event loop owns it), but its
/// `cache` may be shared with forwarders on other threads, so it reads a
/// cache entry outside the cache's lock only for parts fixed at creation;
/// time comes in as `now`, so tests drive it without sockets or sleeping.
///
/// Split by job: this file takes client queries to the cache or an attempt;
/// `+CacheHit` is the allocation-free fast path, `+Attempt` one upstream
/// query's life, `+Upstream` what upstreams and the clock report back,
/// `+Replies` what clients get and what the cache keeps.
public final class Forwarder<Client: ForwarderClient> {
    public typealias Action = ForwarderAction<Client>

    struct Waiter {
        let client: Client
        let query: ClientQuery
        let receivedAt: MonotonicInstant
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
        /// UDP queries sent again to the same upstream for want of a reply.
        public var retransmissions = 0
        public var tcpRetries = 0
        /// UDP replies with our ID and question in another letter case (DNS 0x20).
        public var caseMismatches = 0
        public var serverFailures = 0
        public var overloaded = 0
        /// Misses answered SERVFAIL because their client had its quota of attempts in flight.
        public var overQuota = 0
        public var dropped = 0
        /// Blocked names, bypass canaries and refusing routes, answered by the daemon.
        public var answeredByPolicy = 0
        /// Background refreshes of entries near expiry started (`PrefetchRule`), and
        /// those that ended without a new answer to store.
        public var prefetches = 0
        public var prefetchFailures = 0
        /// Queries decided per routing-policy rule, by `RoutingPolicy.ruleNames` index.
        public var policyDecisions: [Int] = []
    }

    /// Clients waiting on one key at most; more get SERVFAIL (a flood of one name
    /// must not grow memory without bound).
    static var maximumWaitersPerKey: Int { 1024 }

    public private(set) var configuration: ForwarderConfiguration {
        didSet { retransmitTimeoutBounds = configuration.retransmitTimeoutBounds }
    }
    /// `configuration.retransmitTimeoutBounds`, worked out once, not per miss.
    private(set) var retransmitTimeoutBounds: ClosedRange<Int64>
    public internal(set) var counters = Counters()
    public let cache: DNSCache
    let selector: UpstreamSelector
    /// Zones answered authoritatively, before cache and upstreams. Replaced
    /// whole on reload, so a failed reload leaves the previous set serving.
    public var localZones: LocalZones = .empty
    /// Where queries go (`RoutingPolicy`); replaced whole on reload.
    public internal(set) var policy: RoutingPolicy
    /// The policy's scratch: a query name's suffixes and their hashes.
    var suffixes = NameSuffixes()
    /// Upstream queries in flight by token; the extensions in the other files
    /// read and change these, nothing outside the type does.
    var attempts: [UInt64: Attempt] = [:]
    var inFlight: [CacheKey: UInt64] = [:]
    /// Attempts in flight by the client that started them (`Attempt.owner`).
    var inFlightByClient: [Client.QuotaKey: Int] = [:]
    /// Attempts in flight that are prefetches (`Attempt.isPrefetch`), against `prefetchLimit`.
    var prefetchesInFlight = 0
    var deadlines = DeadlineQueue()
    var nextToken: UInt64 = 1
    /// The fast path's cache key name, refilled per query in place.
    var scratchName: [UInt8] = []
    let makeID: () -> UInt16
    var caseRandomization: CaseRandomization
    let logger: Logger

    /// `cache`: one shared with other forwarders (worker threads); by default
    /// a cache of its own, sized by `configuration.cache`. `makeID` and
    /// `makeCaseBits` (DNS 0x20) default to the kernel's CSPRNG.
    public init(configuration: ForwarderConfiguration, logger: Logger, cache: DNSCache? = nil,
                makeID: (() -> UInt16)? = nil, makeCaseBits: (() -> UInt64)? = nil) {
        self.configuration = configuration
        retransmitTimeoutBounds = configuration.retransmitTimeoutBounds
        self.logger = logger
        let random = QueryIDSource()
        self.makeID = makeID ?? { random.next() }
        // One more upstream than configured: passthrough, whose targets vary per query.
        caseRandomization = CaseRandomization(upstreams: configuration.upstreamNames.count + 1,
                                              randomBits: makeCaseBits ?? { random.nextBits() })
        policy = configuration.policy ?? RoutingPolicy(defaultUpstreams: Array(configuration.upstreamNames.indices))
        counters.policyDecisions = Array(repeating: 0, count: policy.ruleNames.count)
        self.cache = cache ?? DNSCache(configuration: configuration.cache)
        selector = UpstreamSelector(names: configuration.upstreamNames + [Self.passthroughName], policy: configuration.upstreamPolicy,
                                    downAfter: configuration.upstreamDownAfter,
                                    probeInterval: configuration.upstreamProbeInterval, logger: logger)
    }

    /// Applies settings that can change under a running daemon (SIGHUP): TTL
    /// policy, timeouts, reply size, in-flight limit, server identity, prefetch. Upstreams and cache size
    /// need a restart; their values in `new` are ignored. Returns the names of
    /// settings that differ but were not applied.
    @discardableResult
    public func reconfigure(_ new: ForwarderConfiguration) -> [String] {
        var ignored: [String] = []
        if new.upstreamNames != configuration.upstreamNames { ignored.append("upstream") }
        if new.upstreamPolicy != configuration.upstreamPolicy { ignored.append("upstream-policy") }
        if new.cache.capacity != configuration.cache.capacity { ignored.append("cache-size") }
        if new.cache.memoryLimit != configuration.cache.memoryLimit { ignored.append("cache-memory") }
        ignored += adopt(new.policy)
        var applied = new
        applied.policy = policy
        applied.upstreamNames = configuration.upstreamNames
        applied.upstreamPolicy = configuration.upstreamPolicy
        applied.streamUpstreams = configuration.streamUpstreams
        applied.cache.capacity = configuration.cache.capacity
        applied.cache.memoryLimit = configuration.cache.memoryLimit
        configuration = applied
        cache.configuration = applied.cache
        return ignored
    }

    /// Upstream queries outstanding, probes included.
    public var inFlightCount: Int { attempts.count }
    public var upstreamHealth: [UpstreamHealth] {
        // Passthrough is listed once it has been used.
        selector.health.enumerated().filter { $0.offset < passthroughUpstream || $0.element.queries > 0 }.map { index, state in
            UpstreamHealth(name: selector.names[index], isDown: state.isDown, queries: state.queries,
                           failures: state.failures, smoothedRTT: state.smoothedRTT, latency: state.latency,
                           caseRandomization: caseRandomization.isUsed(for: index, enabled: configuration.caseRandomization))
        }
    }

    /// When `expire` next has work, for the event loop's wait timeout.
    public var nextDeadline: MonotonicInstant? {
        // A token's entries (its deadline, set when sent; its next retransmission,
        // replaced only as the last one fires) are stale exactly when the attempt is gone. Looked up, not copied out: this runs every loop round.
        while let head = deadlines.first, attempts.index(forKey: head.token) == nil {
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
                            now: MonotonicInstant) -> [Action] {
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

    private func answer(_ query: ClientQuery, from client: Client, now: MonotonicInstant) -> [Action] {
        if let own = configuration.serverIdentity.answer(query) {
            return [.reply(to: client, bytes: own.bytes,
                           details: ReplyDetails(code: own.code, source: .daemon, question: query.question, receivedAt: now))]
        }
        if let local = localZones.answer(query) {
            counters.answeredFromZones += 1
            return [.reply(to: client, bytes: local.bytes,
                           details: ReplyDetails(code: local.code, source: .localZone, question: query.question, receivedAt: now))]
        }
        let decision = decide(query.key.name, endpoints: client.policyEndpoints)
        if let own = policyAnswer(decision, for: query, now: now) { return [.reply(to: client, bytes: own.bytes, details: own.details)] }
        return lookUp(query.routed(decision), from: client, now: now)
    }

    private func lookUp(_ query: ClientQuery, from client: Client, now: MonotonicInstant) -> [Action] {
        switch cache.lookup(query.key, now: now, claimingPrefetch: configuration.prefetch) {
        case .fresh(let answer, let prefetch):
            counters.answeredFromCache += 1
            let reply = Action.reply(to: client, bytes: ReplyRenderer.render(answer, for: query, now: now),
                                     details: ReplyDetails(code: answer.responseCode, source: .cache,
                                                           question: query.question, receivedAt: now, rule: query.decision.rule))
            return prefetch ? [reply] + startPrefetch(of: query, now: now) : [reply]
        case .stale(let answer, let serveStaleUntil):
            if let until = serveStaleUntil, now < until {
                // Upstreams failed for this name moments ago: answer at once and
                // refresh in the background (RFC 8767 4, failure recheck timer).
                var actions = [staleReply(answer, for: Waiter(client: client, query: query, receivedAt: now), now: now)]
                if inFlight[query.key] == nil, attempts.count < configuration.maximumInFlight, !isOverQuota(client) {
                    actions += startAttempt(for: query, owner: client.quotaKey, waiters: [], now: now)
                }
                return actions
            }
            return forward(query, from: client, now: now)
        case .miss:
            return forward(query, from: client, now: now)
        }
    }

    private func forward(_ query: ClientQuery, from client: Client, now: MonotonicInstant) -> [Action] {
        let waiter = Waiter(client: client, query: query, receivedAt: now)
        if let token = inFlight[query.key], attempts[token] != nil {
            guard attempts[token]!.waiters.count < Self.maximumWaitersPerKey else {
                return [serverFailure(for: waiter)]
            }
            attempts[token]!.waiters.append(waiter)
            counters.coalesced += 1
            return []
        }
        guard attempts.count < configuration.maximumInFlight else {
            counters.overloaded += 1
            return [serverFailure(for: waiter)]
        }
        guard !isOverQuota(client) else {
            counters.overQuota += 1
            return [serverFailure(for: waiter)]
        }
        return startAttempt(for: query, owner: client.quotaKey, waiters: [waiter], now: now)
    }

    /// True when `client` has its quota of attempts in flight. Joining an
    /// attempt already in flight (coalescing) is not checked: it costs no
    /// upstream query, and `maximumWaitersPerKey` bounds it.
    private func isOverQuota(_ client: Client) -> Bool {
        inFlightByClient[client.quotaKey, default: 0] >= configuration.inFlightPerClientLimit
    }
}
