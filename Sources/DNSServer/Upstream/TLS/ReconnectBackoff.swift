import DNSForward

/// How long to wait before connecting to an upstream again after a connect or
/// handshake failed: `initial`, doubled per failure up to `maximum`, cleared by
/// a completed handshake. Queries for it meanwhile fail over at once instead
/// of each paying for a doomed handshake.
struct ReconnectBackoff {
    static let initial: Duration = .milliseconds(250)
    static let maximum: Duration = .seconds(8)

    private var delay: Duration?
    private(set) var retryAt: MonotonicInstant?

    func allowsConnect(now: MonotonicInstant) -> Bool {
        retryAt.map { now >= $0 } ?? true
    }

    mutating func recordFailure(now: MonotonicInstant) {
        let next = delay.map { min($0 * 2, Self.maximum) } ?? Self.initial
        delay = next
        retryAt = now + next
    }

    mutating func recordSuccess() {
        delay = nil
        retryAt = nil
    }
}
