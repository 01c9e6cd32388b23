import DNSForward

/// Replies on one pooled upstream socket that look forged: an ID no query
/// there uses, or our ID with the wrong letter case (DNS 0x20). An off-path
/// forger racing a port it has found sends them by the thousand; an honest
/// upstream hardly ever (a late reply to a query that timed out). `threshold`
/// of them within `window` means the port is known: the socket is retired
/// (its replacement gets a new random port) and its queries go over TCP.
struct ForgeryAlarm {
    static let threshold = 10
    static let window: Duration = .seconds(1)

    private var windowStart: MonotonicInstant?
    private var count = 0

    /// Counts one suspect reply; true exactly when this one reaches the threshold.
    mutating func record(now: MonotonicInstant) -> Bool {
        if let start = windowStart, start.duration(to: now) < Self.window {
            count += 1
        } else {
            windowStart = now
            count = 1
        }
        return count == Self.threshold
    }
}
