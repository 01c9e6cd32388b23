/// Settings of the forwarding path.
public struct ForwarderConfiguration: Sendable {
    /// Upstream count; the I/O layer maps indices to addresses.
    public var upstreamCount: Int
    /// How long to wait for one upstream before trying the next.
    public var upstreamTimeout: Duration
    /// Queries waiting for upstreams at once; past this, new ones get SERVFAIL
    /// instead of exhausting descriptors.
    public var maximumInFlight: Int

    public init(upstreamCount: Int, upstreamTimeout: Duration = .seconds(2), maximumInFlight: Int = 4096) {
        precondition(upstreamCount > 0, "at least one upstream")
        self.upstreamCount = upstreamCount
        self.upstreamTimeout = upstreamTimeout
        self.maximumInFlight = maximumInFlight
    }
}
