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
/// failures and comes back on its first valid reply to a query or probe sent
/// after that.
final class UpstreamSelector {
    struct Health: Sendable {
        var consecutiveFailures = 0
        var isDown = false
        /// Exponentially weighted RTT in nanoseconds (RFC 6298's SRTT, gain 1/8);
        /// nil until measured. Integers, not `Duration`: the plan order and the
        /// retransmit timer read it on every miss.
        var smoothedNanoseconds: Int64?
        /// RFC 6298's RTTVAR (gain 1/4): how far replies stray from SRTT.
        var variationNanoseconds: Int64 = 0
        var smoothedRTT: Duration? { smoothedNanoseconds.map { .nanoseconds($0) } }
        var nextProbe: MonotonicInstant?
        /// When it was marked down: replies to queries sent before do not bring it back.
        var downSince: MonotonicInstant?
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

    /// Each upstream set's last plan, shared by every query until an upstream
    /// goes down or up (or, under `.fastest`, a reply reorders the RTTs): no
    /// arrays per query.
    private var cachedPlans: [Int: [Int]] = [:]

    /// The order to try upstream set `set`'s `members` (`RoutingPolicy.upstreamSets`)
    /// for a new query: healthy ones by policy, then the down ones (better a slim
    /// chance than none when all are down).
    func plan(set: Int, members: [Int]) -> [Int] {
        if let plan = cachedPlans[set] { return plan }
        let plan = plan(among: members)
        cachedPlans[set] = plan
        return plan
    }

    /// Whether `plan`'s up upstreams are still in `.fastest` order: a reply
    /// moves one RTT a little, and mostly changes no order.
    private func isFastestFirst(_ plan: [Int]) -> Bool {
        var previous: Int?
        for index in plan where !health[index].isDown {
            if let previous, !comesFirst(previous, index) { return false }
            previous = index
        }
        return true
    }

    /// Unmeasured upstreams go first so every one gets a measurement.
    private func comesFirst(_ left: Int, _ right: Int) -> Bool {
        let l = health[left].smoothedNanoseconds ?? 0, r = health[right].smoothedNanoseconds ?? 0
        return l == r ? left < right : l < r
    }

    /// An upstream went down or came back: every plan is made again.
    private func forgetPlans() {
        cachedPlans.removeAll()
    }

    /// A reply moved an RTT: under `.fastest`, plans whose order it changed are made again.
    private func forgetReorderedPlans() {
        guard policy == .fastest else { return }
        for (set, plan) in cachedPlans where !isFastestFirst(plan) { cachedPlans[set] = nil }
    }

    /// A plan over `members`, made afresh.
    private func plan(among members: [Int]) -> [Int] {
        let up = members.filter { !health[$0].isDown }
        let down = members.filter { health[$0].isDown }
        switch policy {
        case .ordered:
            return up + down
        case .fastest:
            return up.sorted(by: comesFirst) + down
        }
    }

    func recordQuery(_ index: Int) { health[index].queries += 1 }

    /// A valid reply to a query sent at `sentAt`. A down upstream comes back
    /// only on a reply to a query sent after it went down (a probe, or a query
    /// tried on it anyway): late answers to queries from before an outage
    /// would otherwise flip it up and down again, a log line each time.
    /// Mutated in place: copying the state out and back copied the latency
    /// histogram's buckets on every reply.
    /// `rtt` nil: the query was sent more than once, so which copy this
    /// answers is unknown (Karn's rule): health only, no RTT sample.
    func recordSuccess(_ index: Int, rtt: Duration?, sentAt: MonotonicInstant) {
        health[index].consecutiveFailures = 0
        if let rtt {
            recordRTT(rtt, of: index)
            forgetReorderedPlans()
        }
        if health[index].isDown, let downSince = health[index].downSince, sentAt >= downSince {
            health[index].isDown = false
            health[index].downSince = nil
            health[index].nextProbe = nil
            forgetPlans()
            logger.notice("upstream up", metadata: ["upstream.address": "\(names[index])"])
        }
    }

    /// RFC 6298 2.2 and 2.3, variation before the smoothed value.
    private func recordRTT(_ rtt: Duration, of index: Int) {
        let sample = max(0, rtt.wholeNanoseconds)
        if let smoothed = health[index].smoothedNanoseconds {
            let deviation = abs(smoothed - sample)
            health[index].variationNanoseconds += (deviation - health[index].variationNanoseconds) / 4
            health[index].smoothedNanoseconds = smoothed + (sample - smoothed) / 8
        } else {
            health[index].smoothedNanoseconds = sample
            health[index].variationNanoseconds = sample / 2
        }
        health[index].latency.record(rtt)
    }

    /// How long a UDP query to `index` waits before it is sent again, in
    /// nanoseconds: RFC 6298's SRTT + 4·RTTVAR, within `bounds`;
    /// `bounds.upperBound` before any reply.
    func retransmitTimeout(_ index: Int, within bounds: ClosedRange<Int64>) -> Int64 {
        guard let smoothed = health[index].smoothedNanoseconds else { return bounds.upperBound }
        return min(max(smoothed &+ 4 &* health[index].variationNanoseconds, bounds.lowerBound), bounds.upperBound)
    }

    func recordFailure(_ index: Int, now: MonotonicInstant) {
        health[index].consecutiveFailures += 1
        health[index].failures += 1
        if !health[index].isDown, health[index].consecutiveFailures >= downAfter {
            health[index].isDown = true
            health[index].downSince = now
            health[index].nextProbe = now + probeInterval
            forgetPlans()
            logger.warning("upstream down", metadata: [
                "upstream.address": "\(names[index])", "upstream.failures": "\(health[index].consecutiveFailures)",
            ])
        }
    }

    /// Down upstreams whose probe is due; schedules the next probe for each.
    func dueProbes(now: MonotonicInstant) -> [Int] {
        var due: [Int] = []
        for index in health.indices where health[index].isDown {
            if let next = health[index].nextProbe, next <= now {
                health[index].nextProbe = now + probeInterval
                due.append(index)
            }
        }
        return due
    }

    var nextProbe: MonotonicInstant? {
        // Every loop round asks: no array, no copies of the histograms.
        var earliest: MonotonicInstant?
        for index in health.indices where health[index].isDown {
            if let next = health[index].nextProbe, earliest.map({ next < $0 }) ?? true { earliest = next }
        }
        return earliest
    }
}
