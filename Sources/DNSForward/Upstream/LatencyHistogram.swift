/// Cumulative-ready latency counts in fixed buckets, for the Prometheus
/// histogram of upstream round-trip times.
public struct LatencyHistogram: Sendable {
    /// Upper bounds in seconds (the `le` labels).
    public static let bounds: [Double] = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5]

    /// Per-bucket counts (not cumulative); the last slot is +Inf.
    public private(set) var counts = [Int](repeating: 0, count: LatencyHistogram.bounds.count + 1)
    public private(set) var sum: Double = 0
    public var count: Int { counts.reduce(0, +) }

    public init() {}

    public mutating func record(_ duration: Duration) {
        let seconds = Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
        sum += seconds
        let index = Self.bounds.firstIndex { seconds <= $0 } ?? Self.bounds.count
        counts[index] += 1
    }

    /// Adds another histogram's counts (one per worker loop, shown as one).
    public mutating func add(_ other: LatencyHistogram) {
        for index in counts.indices { counts[index] += other.counts[index] }
        sum += other.sum
    }
}
