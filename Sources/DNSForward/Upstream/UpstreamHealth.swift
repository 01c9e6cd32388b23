/// One upstream's health as the selector sees it, for stats.
public struct UpstreamHealth: Sendable {
    public let name: String
    public let isDown: Bool
    public let queries: Int
    public let failures: Int
    public let smoothedRTT: Duration?
    public let latency: LatencyHistogram
    /// Whether its UDP queries get DNS 0x20 (off when configured so, or when it does not preserve case).
    public let caseRandomization: Bool
}
