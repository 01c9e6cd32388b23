import DNSForward
import RawUDP

/// Who may use the daemon. A gateway must never become an open resolver for
/// whatever reaches it on a WAN interface, so clients outside `allowed` are
/// refused (or ignored), and each client may be rate limited. REFUSED replies
/// are capped as a whole (`refusedRate`): their sources are unchecked, so
/// without a cap a spoofed flood would make us a reflector aimed at its victim.
public struct ClientAdmission: Sendable {
    public enum RefusedAction: String, CaseIterable, Sendable {
        /// Answer REFUSED: polite, and clear to a misconfigured client.
        case refuse
        /// Say nothing: nothing to reflect, nothing to learn.
        case drop
    }

    enum Verdict: Equatable {
        case admit
        case refuse
        case drop
    }

    struct Counters {
        var refused = 0
        var ignored = 0
        var rateLimited = 0
        /// Outsiders that would have been refused, dropped over `refusedRate`.
        var refusedDropped = 0
    }

    /// REFUSED replies a second by default, all clients together.
    public static let defaultRefusedRate = 100.0

    public let allowed: [IPPrefix]
    let refusedAction: RefusedAction
    private(set) var rateLimiter: ClientRateLimiter?
    /// REFUSED replies a second this admission may send, after a burst of one
    /// second's worth (a misconfigured LAN's clients asking at once all hear why).
    public private(set) var refusedRate: Double
    private var refusedReplies: TokenBucket?
    private(set) var counters = Counters()

    public init(allowed: [IPPrefix], refusedAction: RefusedAction, rateLimit: Double?,
                refusedRate: Double = defaultRefusedRate) {
        self.allowed = allowed
        self.refusedAction = refusedAction
        self.refusedRate = refusedRate
        rateLimiter = rateLimit.map { ClientRateLimiter(rate: $0) }
    }

    /// This admission for one of `loops` event loops: each loop refuses its
    /// equal share of `refusedRate`, so the daemon as a whole stays at or under
    /// it without a lock on the path a flood takes.
    public func sharing(among loops: Int) -> ClientAdmission {
        var share = self
        share.refusedRate = refusedRate / Double(max(1, loops))
        return share
    }

    func isAllowed(_ client: IPAddress) -> Bool {
        allowed.contains { $0.contains(client) }
    }

    mutating func admit(_ client: IPAddress, now: MonotonicInstant) -> Verdict {
        guard isAllowed(client) else {
            switch refusedAction {
            case .refuse:
                guard mayRefuse(now: now) else {
                    counters.refusedDropped += 1
                    return .drop
                }
                counters.refused += 1
                return .refuse
            case .drop:
                counters.ignored += 1
                return .drop
            }
        }
        if rateLimiter != nil, !rateLimiter!.allow(client, now: now) {
            counters.rateLimited += 1
            return .drop
        }
        return .admit
    }

    private mutating func mayRefuse(now: MonotonicInstant) -> Bool {
        let burst = max(1, refusedRate)
        var bucket = refusedReplies ?? TokenBucket(burst: burst, now: now)
        defer { refusedReplies = bucket }
        return bucket.take(rate: refusedRate, burst: burst, now: now)
    }

    /// Keeps the counters and bucket state of `old` where the settings allow.
    mutating func carryOver(from old: ClientAdmission) {
        counters = old.counters
        if old.refusedRate == refusedRate { refusedReplies = old.refusedReplies }
        if let oldLimiter = old.rateLimiter, let limiter = rateLimiter, oldLimiter.rate == limiter.rate {
            rateLimiter = oldLimiter
        }
    }
}
