import Logging

/// How a query picks its first upstream.
public enum UpstreamPolicy: String, Sendable, CaseIterable {
    /// The first healthy upstream in configuration order.
    case ordered
    /// The healthy upstream with the lowest smoothed round-trip time.
    case fastest
}

/// Upstream health and latency: which to ask first, which are down, when to
/// probe a down one. An upstream is down after `downAfter` consecutive
/// failures and comes back on its first valid reply, to a query or a probe.
final class UpstreamSelector {
    struct Health: Sendable {
        var consecutiveFailures = 0
        var isDown = false
        /// Exponentially weighted RTT (RFC 6298 style, gain 1/8); nil until measured.
        var smoothedRTT: Duration?
        var nextProbe: ContinuousClock.Instant?
        var queries = 0
        var failures = 0
        var latency = LatencyHistogram()
    }

    let policy: UpstreamPolicy
    let names: [String]
    let downAfter: Int
    let probeInterval: Duration
    private(set) var health: [Health]
    private let logger: Logger

    init(names: [String], policy: UpstreamPolicy, downAfter: Int = 3, probeInterval: Duration = .seconds(5), logger: Logger) {
        self.names = names
        self.policy = policy
        self.downAfter = downAfter
        self.probeInterval = probeInterval
        self.logger = logger
        health = Array(repeating: Health(), count: names.count)
    }

    /// The order to try upstreams for a new query: healthy ones by policy, then
    /// the down ones (better a slim chance than none when all are down).
    func plan() -> [Int] {
        let up = health.indices.filter { !health[$0].isDown }
        let down = health.indices.filter { health[$0].isDown }
        switch policy {
        case .ordered:
            return up + down
        case .fastest:
            // Unmeasured upstreams go first so every one gets a measurement.
            let sorted = up.sorted { left, right in
                let l = health[left].smoothedRTT ?? .zero, r = health[right].smoothedRTT ?? .zero
                return l == r ? left < right : l < r
            }
            return sorted + down
        }
    }

    func recordQuery(_ index: Int) { health[index].queries += 1 }

    func recordSuccess(_ index: Int, rtt: Duration) {
        var state = health[index]
        state.consecutiveFailures = 0
        state.smoothedRTT = state.smoothedRTT.map { $0 + (rtt - $0) / 8 } ?? rtt
        state.latency.record(rtt)
        if state.isDown {
            state.isDown = false
            state.nextProbe = nil
            logger.notice("upstream up", metadata: ["upstream.address": "\(names[index])"])
        }
        health[index] = state
    }

    func recordFailure(_ index: Int, now: ContinuousClock.Instant) {
        var state = health[index]
        state.consecutiveFailures += 1
        state.failures += 1
        if !state.isDown, state.consecutiveFailures >= downAfter {
            state.isDown = true
            state.nextProbe = now + probeInterval
            logger.warning("upstream down", metadata: [
                "upstream.address": "\(names[index])", "upstream.failures": "\(state.consecutiveFailures)",
            ])
        }
        health[index] = state
    }

    /// Down upstreams whose probe is due; schedules the next probe for each.
    func dueProbes(now: ContinuousClock.Instant) -> [Int] {
        var due: [Int] = []
        for index in health.indices where health[index].isDown {
            if let next = health[index].nextProbe, next <= now {
                health[index].nextProbe = now + probeInterval
                due.append(index)
            }
        }
        return due
    }

    var nextProbe: ContinuousClock.Instant? {
        health.compactMap { $0.isDown ? $0.nextProbe : nil }.min()
    }
}
