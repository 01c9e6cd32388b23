import DNSForward
import RawUDP

/// Per-client token buckets: each client address may send `rate` queries per
/// second on average, `burst` at once. Over the limit, queries are dropped
/// unanswered (answering would still let a spoofed flood reflect off us).
struct ClientRateLimiter {
    let rate: Double
    let burst: Double
    /// Clients tracked at most; when full, idle full buckets are forgotten.
    let capacity: Int
    private var buckets: [IPAddress: TokenBucket] = [:]

    init(rate: Double, burst: Double? = nil, capacity: Int = 65_536) {
        self.rate = rate
        self.burst = burst ?? max(1, rate * 2)
        self.capacity = capacity
    }

    mutating func allow(_ client: IPAddress, now: MonotonicInstant) -> Bool {
        var bucket = buckets[client] ?? TokenBucket(burst: burst, now: now)
        let allowed = bucket.take(rate: rate, burst: burst, now: now)
        if buckets[client] == nil, buckets.count >= capacity { prune(now: now) }
        if buckets[client] != nil || buckets.count < capacity { buckets[client] = bucket }
        return allowed
    }

    /// Forgets buckets that would be full by now: those clients are as good as new.
    private mutating func prune(now: MonotonicInstant) {
        let refill = Duration.milliseconds(Int64(burst / rate * 1000) + 1)
        buckets = buckets.filter { $0.value.updated.duration(to: now) < refill }
    }

    var trackedClients: Int { buckets.count }
}
