import RawUDP

/// Who may use the daemon. A gateway must never become an open resolver for
/// whatever reaches it on a WAN interface, so clients outside `allowed` are
/// refused (or ignored), and each client may be rate limited.
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
    }

    public let allowed: [IPPrefix]
    let refusedAction: RefusedAction
    private(set) var rateLimiter: ClientRateLimiter?
    private(set) var counters = Counters()

    public init(allowed: [IPPrefix], refusedAction: RefusedAction, rateLimit: Double?) {
        self.allowed = allowed
        self.refusedAction = refusedAction
        rateLimiter = rateLimit.map { ClientRateLimiter(rate: $0) }
    }

    func isAllowed(_ client: IPAddress) -> Bool {
        allowed.contains { $0.contains(client) }
    }

    mutating func admit(_ client: IPAddress, now: ContinuousClock.Instant) -> Verdict {
        guard isAllowed(client) else {
            switch refusedAction {
            case .refuse:
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

    /// Keeps the counters and bucket state of `old` where the settings allow.
    mutating func carryOver(from old: ClientAdmission) {
        counters = old.counters
        if let oldLimiter = old.rateLimiter, let limiter = rateLimiter, oldLimiter.rate == limiter.rate {
            rateLimiter = oldLimiter
        }
    }
}
