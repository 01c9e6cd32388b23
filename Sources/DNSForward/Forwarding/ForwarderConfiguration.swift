/// Settings of the answering path.
public struct ForwarderConfiguration: Sendable {
    /// Upstream names for logs; the I/O layer maps indices to addresses.
    public var upstreamNames: [String]
    /// How long to wait for one upstream before trying the next.
    public var upstreamTimeout: Duration
    /// Times a UDP query goes to the same upstream again, within
    /// `upstreamTimeout`, when no reply came: a datagram lost on the way (a
    /// busy upstream's full socket buffer) then costs a retransmit timeout,
    /// not the whole timeout. Clients' own retries cannot do this, as they join
    /// the attempt already in flight. 0: never.
    public var upstreamRetransmits = 2
    /// Upstreams reached over a stream (DNS over TLS): never retransmitted to.
    public var streamUpstreams: Set<Int> = []
    /// The retransmit timeout's range in nanoseconds
    /// (`UpstreamSelector.retransmitTimeout`): 200 ms to half the timeout.
    /// The floor keeps a resolver's slow recursions (hundreds of milliseconds
    /// beside its cached answers) from being asked twice as a matter of course.
    public var retransmitTimeoutBounds: ClosedRange<Int64> {
        let floor: Int64 = 200_000_000
        return floor...max(floor, upstreamTimeout.wholeNanoseconds / 2)
    }
    /// Upstream queries outstanding at once; past this, new misses get SERVFAIL
    /// instead of exhausting descriptors.
    public var maximumInFlight: Int
    /// Upstream attempts one client address may have started and not finished;
    /// past this its new misses get SERVFAIL while other clients are served, so
    /// one client flooding names whose servers never answer cannot take every
    /// slot of `maximumInFlight`. Nil: a quarter of `maximumInFlight`, at least 1.
    public var maximumInFlightPerClient: Int?
    public var upstreamPolicy: UpstreamPolicy
    /// Consecutive failures that mark an upstream down.
    public var upstreamDownAfter: Int
    /// How often a down upstream is probed.
    public var upstreamProbeInterval: Duration
    public var cache: CacheConfiguration
    /// Routing policy (forward zones, routes, block lists, canaries); nil: every
    /// query to all of `upstreamNames`, bypass canaries answered NXDOMAIN.
    public var policy: RoutingPolicy?
    /// Largest UDP reply sent whatever the client advertises: one unfragmented
    /// packet on common paths (DNS flag day 2020).
    public var maximumUDPReply = 1232
    /// What CHAOS TXT `id.server`/`version.bind` and kin are answered with.
    public var serverIdentity = ServerIdentity()

    /// `maximumInFlightPerClient`, or its default.
    public var inFlightPerClientLimit: Int { maximumInFlightPerClient ?? max(1, maximumInFlight / 4) }

    /// DNS 0x20: random letter case in UDP queries upstream, echoed exactly by
    /// any reply we take (`serve --no-case-randomization` turns it off).
    public var caseRandomization = true

    /// Refresh a popular entry in the background before it expires
    /// (`PrefetchRule`), so its clients never wait for an upstream
    /// (`serve --no-prefetch` turns it off).
    public var prefetch = true

    /// Prefetches in flight at once: a tenth of `maximumInFlight`, at least 1,
    /// so refreshes never take the slots client misses need.
    public var prefetchLimit: Int { max(1, maximumInFlight / 10) }

    /// The same settings with DNS 0x20 off: for drivers (tests, fuzzers,
    /// benchmarks) whose fake upstreams answer in the client's own case.
    public var withoutCaseRandomization: ForwarderConfiguration {
        var copy = self
        copy.caseRandomization = false
        return copy
    }

    public init(upstreamNames: [String], upstreamTimeout: Duration = .seconds(2), maximumInFlight: Int = 4096,
                upstreamPolicy: UpstreamPolicy = .fastest, upstreamDownAfter: Int = 3,
                upstreamProbeInterval: Duration = .seconds(5), cache: CacheConfiguration = CacheConfiguration()) {
        precondition(!upstreamNames.isEmpty, "at least one upstream")
        self.upstreamNames = upstreamNames
        self.upstreamTimeout = upstreamTimeout
        self.maximumInFlight = maximumInFlight
        self.upstreamPolicy = upstreamPolicy
        self.upstreamDownAfter = upstreamDownAfter
        self.upstreamProbeInterval = upstreamProbeInterval
        self.cache = cache
    }
}
