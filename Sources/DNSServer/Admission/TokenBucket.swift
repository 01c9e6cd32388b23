import DNSForward

/// A token bucket: `rate` tokens a second, at most `burst` saved up. Time is
/// passed in, so tests drive it without sleeping.
struct TokenBucket {
    private(set) var tokens: Double
    private(set) var updated: MonotonicInstant

    /// A full bucket.
    init(burst: Double, now: MonotonicInstant) {
        tokens = burst
        updated = now
    }

    /// Refills for the time since the last call, then takes one token if there is one.
    mutating func take(rate: Double, burst: Double, now: MonotonicInstant) -> Bool {
        let elapsed = updated.duration(to: now)
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        // A clock read out of order (another thread's `now`) never drains the bucket.
        tokens = min(burst, tokens + max(0, seconds) * rate)
        updated = max(updated, now)
        guard tokens >= 1 else { return false }
        tokens -= 1
        return true
    }
}
